"""Which conversations a list shows: mode, numbers, label, assignee, unread and words.

One description serves the API, the inbox page and its live rows (does this updated
conversation still belong on the page?), so they can never disagree. Each filter is a plain
condition on `conversations` that one of its indexes serves in the list's order.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, select
from sqlalchemy.ext.asyncio import AsyncSession

from atende.core import directory
from atende.core.accounts import role_in
from atende.core.errors import InvalidInput
from atende.inbox import search
from atende.inbox.models import Conversation, ConversationLabel, Label

MODES = ("bot", "human", "closed")


@dataclass(frozen=True, slots=True)
class ConversationFilter:
    mode: str | None = None
    # None: any number; a tuple: only these (empty: an agent that answers no number).
    instance_ids: tuple[int, ...] | None = None
    label_id: int | None = None
    assignee_user_id: int | None = None
    unassigned: bool = False
    unread: bool = False
    words: str = ""

    def conditions(self, dialect: str, org_id: int) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.mode is not None:
            found.append(Conversation.mode == self.mode)
        if self.instance_ids is not None:
            found.append(
                Conversation.instance_id.in_(self.instance_ids) if self.instance_ids else false()
            )
        if self.label_id is not None:
            # Driven from the label's index: a rare label reads its few conversations, not
            # every conversation of the organisation in list order.
            found.append(
                Conversation.id.in_(
                    select(ConversationLabel.conversation_id).where(
                        ConversationLabel.label_id == self.label_id
                    )
                )
            )
        if self.assignee_user_id is not None:
            found.append(Conversation.assignee_user_id == self.assignee_user_id)
        elif self.unassigned:
            found.append(Conversation.assignee_user_id.is_(None))
        if self.unread:
            found.append(Conversation.unread_count > 0)
        if self.words.strip():
            matching = search.matching_conversations(dialect, org_id=org_id, query=self.words)
            found.append(false() if matching is None else Conversation.id.in_(matching))
        return found

    def where(self, dialect: str, org_id: int) -> ColumnElement[bool]:
        return and_(Conversation.org_id == org_id, *self.conditions(dialect, org_id))


def dialect_of(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


async def resolve_filter(
    session: AsyncSession,
    *,
    org_id: int,
    user_id: int | None,
    mode: str | None = None,
    instance_id: int | None = None,
    agent_id: int | None = None,
    label_id: int | None = None,
    assignee: str | None = None,
    mine: bool = False,
    unread: bool = False,
    q: str | None = None,
) -> ConversationFilter:
    """The API's query parameters checked against the organisation: an unknown label, agent
    or member is an error naming the parameter, never silently an empty list."""
    fields: dict[str, Any] = {"mode": mode, "unread": unread, "words": q or ""}
    if instance_id is not None:
        fields["instance_ids"] = (instance_id,)
    if agent_id is not None:
        if await directory.agent_name(session, org_id=org_id, agent_id=agent_id) is None:
            raise InvalidInput("No such agent in this organisation.", field="agent_id")
        answered = await directory.instances_of_agent(session, org_id=org_id, agent_id=agent_id)
        wanted = fields.get("instance_ids")
        fields["instance_ids"] = tuple(i for i in answered if wanted is None or i in wanted)
    if label_id is not None:
        known = await session.scalar(
            select(Label.id).where(Label.id == label_id, Label.org_id == org_id)
        )
        if known is None:
            raise InvalidInput("No such label in this organisation.", field="label_id")
        fields["label_id"] = label_id
    if mine and assignee is not None:
        raise InvalidInput("Use either `mine` or `assignee`, not both.", field="mine")
    if mine:
        if user_id is None:
            raise InvalidInput(
                "`mine` needs a signed-in person; an API key has no conversations of its own.",
                field="mine",
            )
        fields["assignee_user_id"] = user_id
    elif assignee == "none":
        fields["unassigned"] = True
    elif assignee is not None:
        member = int(assignee) if assignee.isdigit() and 0 < int(assignee) < 2**63 else None
        if member is None or await role_in(session, org_id=org_id, user_id=member) is None:
            raise InvalidInput(
                "`assignee` is a member's user id, or `none` for unassigned.", field="assignee"
            )
        fields["assignee_user_id"] = member
    return ConversationFilter(**fields)
