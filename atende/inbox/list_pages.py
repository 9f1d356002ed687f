"""The inbox's list side: search, the filter bar, rows with their labels, and the live row.

The filters live in the URL (`/inbox?mode=…&label=…&assignee=me&unread=1&q=…`), so reload and
back keep them; changing one swaps the list side only and pushes the new URL. A live
`conversation.updated` fetches `/inbox/rows/{id}` with the page's filters: 204 when the
conversation no longer belongs in this list (the page drops the row), the row otherwise.
"""

import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Query, Request, Response

from atende.core import accounts
from atende.core.access import Principal
from atende.core.deps import DbSession
from atende.core.schemas import MAX_ID, PathId
from atende.inbox import conversations, labels
from atende.inbox.filters import MODES, ConversationFilter
from atende.inbox.models import Contact, Conversation, Label
from atende.web.guards import PagePrincipal
from atende.web.shell import templates_for

router = APIRouter(include_in_schema=False)
render = templates_for(Path(__file__).parent / "templates")

LIST_PAGE = 30
_OPEN = re.compile(r"^/inbox/(\d+)$")


def _id(value: str) -> int | None:
    return int(value) if value.isdigit() and 0 < int(value) <= MAX_ID else None


@dataclass(frozen=True, slots=True)
class Filters:
    """The page's filters; unknown values mean "all", so a stale bookmark still opens."""

    mode: str | None = None
    instance_id: int | None = None
    label_id: int | None = None
    assignee: str | None = None  # "me", "none" or a member's user id
    unread: bool = False
    q: str = ""

    @property
    def query(self) -> str:
        """`?mode=…&instance=…` (or nothing) to keep the filters on links."""
        pairs = {
            "mode": self.mode or "",
            "instance": str(self.instance_id or ""),
            "label": str(self.label_id or ""),
            "assignee": self.assignee or "",
            "unread": "1" if self.unread else "",
            "q": self.q,
        }
        kept = {key: value for key, value in pairs.items() if value}
        return "?" + urlencode(kept) if kept else ""

    def link(self, **changes: Any) -> str:
        return "/inbox" + replace(self, **changes).query

    def side_link(self, **changes: Any) -> str:
        """The list side with changed filters (the page pushes the `link` address)."""
        return "/inbox/side" + replace(self, **changes).query

    def for_user(self, user_id: int | None) -> ConversationFilter:
        assignee = user_id if self.assignee == "me" else _id(self.assignee or "")
        return ConversationFilter(
            mode=self.mode,
            instance_ids=None if self.instance_id is None else (self.instance_id,),
            label_id=self.label_id,
            assignee_user_id=assignee,
            unassigned=self.assignee == "none",
            unread=self.unread,
            words=self.q,
        )


def page_filters(
    *,
    mode: Annotated[str, Query(max_length=10)] = "",
    instance: Annotated[str, Query(max_length=20)] = "",
    label: Annotated[str, Query(max_length=20)] = "",
    assignee: Annotated[str, Query(max_length=20)] = "",
    unread: Annotated[str, Query(max_length=5)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
) -> Filters:
    return Filters(
        mode=mode if mode in MODES else None,
        instance_id=_id(instance),
        label_id=_id(label),
        assignee=assignee if assignee in ("me", "none") or _id(assignee) else None,
        unread=unread in ("1", "true", "on"),
        q=" ".join(q.split()),
    )


PageFilters = Annotated[Filters, Depends(page_filters)]


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    title: str
    phone: str
    initials: str
    hue: int
    preview: str
    at: datetime | None
    mode: str
    unread: int
    instance: str
    labels: tuple[Label, ...] = ()
    assignee: str = ""


def initials(name: str, phone: str | None) -> str:
    words = [w for w in name.split() if w[:1].isalnum()]
    if words:
        return "".join(w[0] for w in words[:2]).upper()
    return (phone or "#")[-2:]


def row_of(
    conversation: Conversation,
    contact: Contact,
    names: dict[int, str],
    row_labels: list[Label] | None = None,
    members: dict[int, str] | None = None,
) -> Row:
    return Row(
        id=conversation.id,
        title=contact.name or contact.phone or contact.wa_id,
        phone=contact.phone or "",
        initials=initials(contact.name, contact.phone),
        hue=contact.id % 6,
        preview=conversation.last_message_preview,
        at=conversation.last_message_at,
        mode=conversation.mode,
        unread=conversation.unread_count,
        instance=names.get(conversation.instance_id, ""),
        labels=tuple(row_labels or ()),
        assignee=(members or {}).get(conversation.assignee_user_id or 0, ""),
    )


async def member_names(session: DbSession, principal: Principal) -> dict[int, str]:
    members = await accounts.list_members(session, org_id=principal.org_id)
    return {m.user_id: m.name or m.email for m in members}


async def list_context(
    session: DbSession, principal: Principal, filters: Filters, cursor: str | None = None
) -> dict[str, Any]:
    names = await conversations.instance_names(session, org_id=principal.org_id)
    members = await member_names(session, principal)
    found, next_cursor = await conversations.list_conversations(
        session,
        org_id=principal.org_id,
        filter_=filters.for_user(principal.user_id),
        cursor=cursor,
        limit=LIST_PAGE,
    )
    by_conversation = await labels.labels_of_conversations(session, (c.id for c, _ in found))
    rows = [row_of(c, contact, names, by_conversation.get(c.id), members) for c, contact in found]
    return {
        "rows": rows,
        "cursor": next_cursor,
        "filters": filters,
        "instances": names,
        "labels": await labels.list_labels(session, org_id=principal.org_id),
        "members": members,
    }


async def header_context(
    session: DbSession, principal: Principal, conversation: Conversation
) -> dict[str, Any]:
    """What the conversation header shows besides the handoff: labels and the assignee."""
    own = (await labels.labels_of_conversations(session, [conversation.id])).get(
        conversation.id, []
    )
    every = await labels.list_labels(session, org_id=principal.org_id)
    return {
        "conv_labels": own,
        "label_choices": [label for label in every if label not in own],
        "members": await member_names(session, principal),
        "me_id": principal.user_id,
    }


async def render_header(
    request: Request, session: DbSession, principal: Principal, conversation_id: int
) -> Response:
    """The conversation header alone (after an action, or a live change by someone else)."""
    conversation, contact = await conversations.get_conversation(
        session, org_id=principal.org_id, conversation_id=conversation_id
    )
    names = await conversations.instance_names(session, org_id=principal.org_id)
    return render(
        request,
        "inbox/_header.html",
        conv=conversation,
        contact=contact,
        row=row_of(conversation, contact, names),
        **await header_context(session, principal, conversation),
    )


def _push_url(request: Request, filters: Filters) -> str:
    """The address that now describes the page: the open conversation stays open."""
    current = urlsplit(request.headers.get("HX-Current-URL", "")).path
    opened = _OPEN.match(current)
    return (f"/inbox/{opened.group(1)}" if opened else "/inbox") + filters.query


@router.get("/inbox/side")
async def side_fragment(
    request: Request, principal: PagePrincipal, session: DbSession, filters: PageFilters
) -> Response:
    """The list side again for new filters or words (the filter bar asks for it)."""
    context = await list_context(session, principal, filters)
    response = render(request, "inbox/_side.html", open_id=None, **context)
    response.headers["HX-Push-Url"] = _push_url(request, filters)
    return response


@router.get("/inbox/list")
async def list_fragment(
    *,
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    filters: PageFilters,
    cursor: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """More rows (after `cursor`), or the whole list again after a gap in the event stream."""
    context = await list_context(session, principal, filters, cursor or None)
    return render(request, "inbox/_rows.html", open_id=None, **context)


@router.get("/inbox/rows/{conversation_id}")
async def row_fragment(
    *,
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    conversation_id: PathId,
    filters: PageFilters,
) -> Response:
    """One row of the list; 204 when it no longer matches the filters (the page drops it)."""
    conversation, contact = await conversations.get_conversation(
        session, org_id=principal.org_id, conversation_id=conversation_id
    )
    if not await conversations.conversation_matches(
        session,
        org_id=principal.org_id,
        conversation_id=conversation.id,
        filter_=filters.for_user(principal.user_id),
    ):
        return Response(status_code=204)
    names = await conversations.instance_names(session, org_id=principal.org_id)
    row_labels = (await labels.labels_of_conversations(session, [conversation.id])).get(
        conversation.id
    )
    members = await member_names(session, principal)
    row = row_of(conversation, contact, names, row_labels, members)
    return render(request, "inbox/_row.html", row=row, filters=filters, open_id=None)
