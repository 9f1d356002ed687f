"""API views of contacts and conversations, with their labels loaded a page at a time."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from atende.inbox import conversations, labels
from atende.inbox.models import Contact, Conversation, Label
from atende.inbox.schemas import ContactOut, ConversationOut, LabelOut


def label_out(label: Label) -> LabelOut:
    return LabelOut(id=label.id, name=label.name, colour=label.colour)


def contact_out(contact: Contact, contact_labels: Sequence[Label] = ()) -> ContactOut:
    return ContactOut(
        id=contact.id,
        name=contact.name,
        phone=contact.phone,
        wa_id=contact.wa_id,
        is_group=contact.is_group,
        opted_out=contact.opted_out,
        labels=[label_out(label) for label in contact_labels],
    )


async def contacts_out(session: AsyncSession, rows: Sequence[Contact]) -> list[ContactOut]:
    by_contact = await labels.labels_of_contacts(session, (c.id for c in rows))
    return [contact_out(contact, by_contact.get(contact.id, [])) for contact in rows]


async def conversations_out(
    session: AsyncSession, rows: Sequence[tuple[Conversation, Contact]]
) -> list[ConversationOut]:
    by_conversation = await labels.labels_of_conversations(session, (c.id for c, _ in rows))
    by_contact = await labels.labels_of_contacts(session, (contact.id for _, contact in rows))
    return [
        ConversationOut(
            id=conversation.id,
            instance_id=conversation.instance_id,
            mode=conversation.mode,
            assignee_user_id=conversation.assignee_user_id,
            unread_count=conversation.unread_count,
            last_message_at=conversation.last_message_at,
            last_message_preview=conversation.last_message_preview,
            labels=[label_out(label) for label in by_conversation.get(conversation.id, [])],
            contact=contact_out(contact, by_contact.get(contact.id, [])),
        )
        for conversation, contact in rows
    ]


async def conversation_out(
    session: AsyncSession, *, org_id: int, conversation_id: int
) -> ConversationOut:
    """The conversation as it is now (after a change), labels included."""
    row = await conversations.get_conversation(
        session, org_id=org_id, conversation_id=conversation_id
    )
    (out,) = await conversations_out(session, [row])
    return out
