"""Contacts (one per person and number) and who in the team a conversation is assigned to."""

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from atende.core.accounts import role_in
from atende.core.errors import InvalidInput, NotFound
from atende.inbox import labels
from atende.inbox.models import Contact, Conversation
from atende.inbox.service import announce_conversation

MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class ContactDetail:
    contact: Contact
    conversation_id: int | None


async def list_contacts(
    session: AsyncSession,
    *,
    org_id: int,
    query: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> tuple[list[Contact], int | None]:
    """Newest first; `query` matches the name or the number; `before` continues a page."""
    limit = max(1, min(limit, MAX_PAGE))
    statement = (
        select(Contact).where(Contact.org_id == org_id).order_by(Contact.id.desc()).limit(limit + 1)
    )
    for term in (query or "").split()[:8]:
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        statement = statement.where(or_(Contact.name.ilike(pattern), Contact.phone.like(pattern)))
    if before is not None:
        statement = statement.where(Contact.id < before)
    rows = list(await session.scalars(statement))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


async def get_contact(session: AsyncSession, *, org_id: int, contact_id: int) -> ContactDetail:
    contact = await session.scalar(
        select(Contact).where(Contact.id == contact_id, Contact.org_id == org_id)
    )
    if contact is None:
        raise NotFound("Contact not found.")
    conversation_id = await session.scalar(
        select(Conversation.id).where(Conversation.contact_id == contact.id)
    )
    return ContactDetail(contact, conversation_id)


async def update_contact(
    session: AsyncSession,
    *,
    org_id: int,
    contact_id: int,
    name: str | None = None,
    opted_out: bool | None = None,
    label_ids: list[int] | None = None,
) -> ContactDetail:
    """Renames, records that the person asked not to be contacted (no one can then write
    to them: operators are refused, the agent stays quiet), or sets the contact's labels
    (all checked before anything changes)."""
    detail = await get_contact(session, org_id=org_id, contact_id=contact_id)
    if label_ids is not None:
        await labels.set_contact_labels(
            session, org_id=org_id, contact_id=detail.contact.id, label_ids=label_ids
        )
    if name is not None:
        detail.contact.name = name.strip()[:200]
    if opted_out is not None:
        detail.contact.opted_out = opted_out
    await session.flush()
    return detail


async def assign(
    session: AsyncSession, *, org_id: int, conversation_id: int, user_id: int | None
) -> Conversation:
    """Gives the conversation to a member of the organisation (or to nobody)."""
    conversation = await session.scalar(
        select(Conversation).where(
            Conversation.id == conversation_id, Conversation.org_id == org_id
        )
    )
    if conversation is None:
        raise NotFound("Conversation not found.")
    if user_id is not None and await role_in(session, org_id=org_id, user_id=user_id) is None:
        raise InvalidInput("Assign the conversation to a member of the team.", field="assignee")
    if conversation.assignee_user_id != user_id:
        conversation.assignee_user_id = user_id
        await session.flush()
        await announce_conversation(session, conversation)
    return conversation
