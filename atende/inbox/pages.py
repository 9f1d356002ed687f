"""The inbox page: the conversation list on the left, the open conversation beside it.

Everything live comes over the page's event stream and is fetched as small fragments (one row,
one message, the header), so nothing is re-rendered wholesale and no scroll position is lost:
`conversation.updated` -> `/inbox/rows/{id}`, `message.created` / `message.status` ->
`/inbox/{id}/messages/{message_id}`. Actions go through the inbox's service functions.
"""

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Query, Request, Response
from fastapi.responses import RedirectResponse

from atende.core import idempotency
from atende.core.access import Principal
from atende.core.deps import DbSession
from atende.core.errors import Problem
from atende.core.schemas import PathId
from atende.inbox import conversations, thread, timeline
from atende.inbox.list_pages import (
    PageFilters,
    header_context,
    list_context,
    render_header,
    row_of,
)
from atende.inbox.models import Message
from atende.web.guards import PagePrincipal
from atende.web.shell import is_htmx, problem_message, shell_of, templates_for

router = APIRouter(include_in_schema=False)
render = templates_for(Path(__file__).parent / "templates")

HISTORY_PAGE = 40


async def _conversation_context(
    request: Request, session: DbSession, principal: Principal, conversation_id: int
) -> dict[str, Any]:
    conversation, contact = await conversations.get_conversation(
        session, org_id=principal.org_id, conversation_id=conversation_id
    )
    page = await timeline.history_page(
        session, principal, conversation_id, limit=HISTORY_PAGE, mark_unread=True
    )
    names = await conversations.instance_names(session, org_id=principal.org_id)
    return {
        **await header_context(session, principal, conversation),
        "conv": conversation,
        "contact": contact,
        "row": row_of(conversation, contact, names),
        "senders": await timeline.senders(session, principal),
        "day": timeline.day_labeller(request),
        **page.context(),
    }


@router.get("/inbox")
async def inbox_page(
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    filters: PageFilters,
) -> Response:
    context = await list_context(session, principal, filters)
    return render(request, "inbox/inbox.html", conv=None, open_id=None, **context)


@router.get("/inbox/empty")
async def empty_pane(request: Request, principal: PagePrincipal) -> Response:
    """The pane without a conversation (phones go back to the list)."""
    return render(request, "inbox/_pane.html", conv=None)


@router.get("/inbox/{conversation_id}")
async def conversation_page(
    *,
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    conversation_id: PathId,
    filters: PageFilters,
) -> Response:
    context = await list_context(session, principal, filters)
    context.update(await _conversation_context(request, session, principal, conversation_id))
    return render(request, "inbox/inbox.html", open_id=conversation_id, **context)


@router.get("/inbox/{conversation_id}/pane")
async def pane_fragment(
    request: Request, principal: PagePrincipal, session: DbSession, conversation_id: PathId
) -> Response:
    """The open conversation alone: opening another one keeps the list where it was."""
    context = await _conversation_context(request, session, principal, conversation_id)
    return render(request, "inbox/_pane.html", **context)


@router.get("/inbox/{conversation_id}/header")
async def header_fragment(
    request: Request, principal: PagePrincipal, session: DbSession, conversation_id: PathId
) -> Response:
    return await _header(request, session, principal, conversation_id)


async def _header(
    request: Request, session: DbSession, principal: Principal, conversation_id: int
) -> Response:
    return await render_header(request, session, principal, conversation_id)


@router.get("/inbox/{conversation_id}/messages")
async def older_fragment(
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    conversation_id: PathId,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    """Older history, oldest first, with the button for the page before it."""
    page = await timeline.history_page(
        session, principal, conversation_id, before=before, limit=HISTORY_PAGE
    )
    return render(
        request,
        "inbox/_history.html",
        conv_id=conversation_id,
        senders=await timeline.senders(session, principal),
        day=timeline.day_labeller(request),
        **page.context(),
    )


@router.get("/inbox/{conversation_id}/messages/{message_id}")
async def message_fragment(
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    conversation_id: PathId,
    message_id: PathId,
) -> Response:
    """One message as a bubble: appended when created, replaced when its ticks change."""
    message = await conversations.get_message(
        session, org_id=principal.org_id, conversation_id=conversation_id, message_id=message_id
    )
    return await _bubble(request, session, principal, message)


async def _bubble(
    request: Request, session: DbSession, principal: Principal, message: Message
) -> Response:
    quoted = await thread.quoted_messages(
        session,
        org_id=principal.org_id,
        conversation_id=message.conversation_id,
        messages=[message],
    )
    senders = await timeline.senders(session, principal)
    return render(request, "inbox/_message.html", m=message, senders=senders, quoted=quoted)


@router.post("/inbox/{conversation_id}/messages")
async def send(
    *,
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    conversation_id: PathId,
    text: Annotated[str, Form(max_length=4096)] = "",
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """The composer: one message per `Idempotency-Key` (the page makes one per attempt)."""
    try:
        claim = None
        if idempotency_key is not None:
            print_ = idempotency.fingerprint(f"send:{conversation_id}", {"text": text})
            claim = await idempotency.claim(
                session, org_id=principal.org_id, key=idempotency_key, print_=print_
            )
        if claim is not None and claim.replay is not None:
            message = await conversations.get_message(
                session,
                org_id=principal.org_id,
                conversation_id=conversation_id,
                message_id=int(claim.replay["id"]),
            )
        else:
            message = await conversations.operator_send(
                session,
                org_id=principal.org_id,
                conversation_id=conversation_id,
                user_id=principal.user_id,
                text=text,
            )
            if claim is not None:
                await idempotency.remember(
                    session, record_id=claim.record_id, response={"id": message.id}
                )
    except Problem as problem:
        await session.rollback()
        message_text = _send_problem(request, problem)
        return render(
            request, "inbox/_send_error.html", status_code=problem.status, error=message_text
        )
    if not is_htmx(request):
        return RedirectResponse(f"/inbox/{conversation_id}", status_code=303)
    return await _bubble(request, session, principal, message)


def _send_problem(request: Request, problem: Problem) -> str:
    """Why a message was not sent, in the reader's language (by code and field first)."""
    t = shell_of(request).translator(request)
    field = problem.extensions.get("field")
    key = f"inbox.send.error.{problem.code}.{field}"
    return t(key) if field and t.has(key) else problem_message(t, problem, "inbox.send")


async def _set_mode(
    request: Request, session: DbSession, principal: Principal, conversation_id: int, mode: str
) -> Response:
    await conversations.set_mode(
        session, org_id=principal.org_id, conversation_id=conversation_id, mode=mode
    )
    if not is_htmx(request):
        return RedirectResponse(f"/inbox/{conversation_id}", status_code=303)
    return await _header(request, session, principal, conversation_id)


@router.post("/inbox/{conversation_id}/takeover")
async def take_over(
    request: Request, principal: PagePrincipal, session: DbSession, conversation_id: PathId
) -> Response:
    return await _set_mode(request, session, principal, conversation_id, "human")


@router.post("/inbox/{conversation_id}/release")
async def release(
    request: Request, principal: PagePrincipal, session: DbSession, conversation_id: PathId
) -> Response:
    return await _set_mode(request, session, principal, conversation_id, "bot")


@router.post("/inbox/{conversation_id}/close")
async def close(
    request: Request, principal: PagePrincipal, session: DbSession, conversation_id: PathId
) -> Response:
    return await _set_mode(request, session, principal, conversation_id, "closed")
