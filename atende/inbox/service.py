"""The inbox module's public functions: contacts, conversations and messages.

The WhatsApp module stores what providers deliver through `record_inbound` / `record_status`;
anyone who wants a message sent queues it with `queue_outbound` (a row first, then a job of
kind `whatsapp.send` that the WhatsApp module runs). Every change writes its event in the
same transaction.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from atende.core.db import utcnow
from atende.core.errors import NotFound
from atende.core.events import record_event
from atende.core.jobs import enqueue, mark_jobs_pending
from atende.inbox.events import ConversationUpdated, MessageCreated, MessageStatusChanged
from atende.inbox.inbound import (
    InboundInput,
    Stored,
    StoredMessage,
    inbound_steps,
    preview_of,
)
from atende.inbox.models import Contact, Conversation, ConversationLabel, Message
from atende.inbox.phones import contact_key

__all__ = ["InboundInput", "StoredMessage"]  # part of this module's public interface

SEND_JOB = "whatsapp.send"
# Attempts at a send before the message is marked failed (backoff with jitter in between).
SEND_ATTEMPTS = 6
# Delivery states only move forward; `failed` may replace `queued` or `sent`, nothing later.
STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}


@dataclass(frozen=True, slots=True)
class OutboundToSend:
    message_id: int
    org_id: int
    instance_id: int
    conversation_id: int
    to: str
    type: str
    text: str | None
    media: dict[str, Any] | None
    status: str
    reply_to_provider_id: str | None
    last_inbound_at: datetime | None


async def announce_conversation(session: AsyncSession, conversation: Conversation) -> None:
    label_ids = await session.scalars(
        select(ConversationLabel.label_id)
        .where(ConversationLabel.conversation_id == conversation.id)
        .order_by(ConversationLabel.label_id)
    )
    await record_event(
        session,
        org_id=conversation.org_id,
        payload=ConversationUpdated(
            conversation_id=conversation.id,
            contact_id=conversation.contact_id,
            instance_id=conversation.instance_id,
            mode=conversation.mode,
            unread_count=conversation.unread_count,
            last_message_preview=conversation.last_message_preview,
            last_message_at=(
                conversation.last_message_at.isoformat() if conversation.last_message_at else None
            ),
            assignee_user_id=conversation.assignee_user_id,
            label_ids=list(label_ids),
        ),
    )


async def _announce_message(session: AsyncSession, message: Message, contact_id: int) -> None:
    await record_event(
        session,
        org_id=message.org_id,
        payload=MessageCreated(
            message_id=message.id,
            conversation_id=message.conversation_id,
            contact_id=contact_id,
            instance_id=message.instance_id,
            direction=message.direction,
            author=message.author,
            type=message.type,
            text=message.text,
            status=message.status,
            at=message.sent_at.isoformat(),
        ),
    )


async def record_inbound(
    session: AsyncSession, *, org_id: int, instance_id: int, inbound: InboundInput
) -> StoredMessage | None:
    """Stores a message a provider delivered, once: None when it was stored already."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    steps = inbound_steps(dialect, org_id, instance_id, inbound)
    try:
        statement, params = next(steps)
        while True:
            statement, params = steps.send(await session.execute(statement, params))
    except StopIteration as done:
        stored: Stored | None = done.value
    if stored is None:
        return None
    for payload in stored.events:
        await record_event(session, org_id=org_id, payload=payload)
    if stored.wrote_job:
        mark_jobs_pending(session)
    return stored.message


async def record_status(
    session: AsyncSession,
    *,
    org_id: int,
    instance_id: int,
    provider_message_id: str,
    status: str,
    error: str | None = None,
) -> bool:
    """Applies a delivery receipt; False if the message is unknown or the state is older."""
    message = await session.scalar(
        select(Message).where(
            Message.org_id == org_id,
            Message.instance_id == instance_id,
            Message.provider_message_id == provider_message_id,
        )
    )
    if message is None or not _moves_forward(message.status, status):
        return False
    await _set_status(session, message, status, error)
    return True


def _moves_forward(current: str, new: str) -> bool:
    if new == "failed":
        return current in ("queued", "sending", "sent")
    if current in ("failed",) or new not in STATUS_RANK:
        return False
    return STATUS_RANK[new] > STATUS_RANK.get(current, 0)


async def _set_status(
    session: AsyncSession, message: Message, status: str, error: str | None
) -> None:
    message.status = status
    message.error = error[:500] if error else None
    await session.flush()
    await record_event(
        session,
        org_id=message.org_id,
        payload=MessageStatusChanged(
            message_id=message.id,
            conversation_id=message.conversation_id,
            status=status,
            error=message.error,
        ),
    )


async def queue_outbound(
    session: AsyncSession,
    *,
    org_id: int,
    conversation_id: int,
    author: str,
    text: str | None,
    type_: str = "text",
    media: dict[str, Any] | None = None,
    sender_user_id: int | None = None,
    reply_to_provider_id: str | None = None,
    send_after: float = 0.0,
    extra: dict[str, Any] | None = None,
) -> int:
    """A message to send: stored as `queued`, sent by a job (retries, at most once), not
    before `send_after` seconds (an agent "typing" its reply). `extra`: what the message
    keeps about where it came from (an agent's reply: `llm_call_id`, for "why")."""
    conversation = await session.scalar(
        select(Conversation).where(
            Conversation.id == conversation_id, Conversation.org_id == org_id
        )
    )
    if conversation is None:
        raise NotFound("Conversation not found.")
    now = utcnow()
    message = Message(
        org_id=org_id,
        instance_id=conversation.instance_id,
        conversation_id=conversation.id,
        direction="out",
        author=author,
        type=type_,
        text=text,
        media=media,
        status="queued",
        reply_to_provider_id=reply_to_provider_id,
        sender_user_id=sender_user_id,
        extra=extra,
        sent_at=now,
        created_at=now,
    )
    session.add(message)
    conversation.last_message_at = now
    conversation.last_message_preview = preview_of(type_, text)
    await session.flush()
    await enqueue(
        session,
        kind=SEND_JOB,
        key=f"send:message:{message.id}",
        payload={"message_id": message.id, "max_attempts": SEND_ATTEMPTS},
        org_id=org_id,
        max_attempts=SEND_ATTEMPTS,
        run_at=now + timedelta(seconds=send_after) if send_after > 0 else None,
    )
    await _announce_message(session, message, conversation.contact_id)
    await announce_conversation(session, conversation)
    return message.id


async def outbound_to_send(session: AsyncSession, *, message_id: int) -> OutboundToSend | None:
    row = (
        await session.execute(
            select(Message, Contact.wa_id, Conversation.last_inbound_at)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(Contact, Contact.id == Conversation.contact_id)
            .where(Message.id == message_id, Message.direction == "out")
        )
    ).first()
    if row is None:
        return None
    message, wa_id, last_inbound_at = row
    return OutboundToSend(
        message_id=message.id,
        org_id=message.org_id,
        instance_id=message.instance_id,
        conversation_id=message.conversation_id,
        to=wa_id,
        type=message.type,
        text=message.text,
        media=message.media,
        status=message.status,
        reply_to_provider_id=message.reply_to_provider_id,
        last_inbound_at=last_inbound_at,
    )


async def mark_outbound(
    session: AsyncSession,
    *,
    message_id: int,
    status: str,
    provider_message_id: str | None = None,
    error: str | None = None,
) -> None:
    """The sender's progress: `sending` (claimed), then `sent` or `failed` with the reason."""
    message = await session.get(Message, message_id)
    if message is None:
        raise NotFound("Message not found.")
    if provider_message_id:
        message.provider_message_id = provider_message_id
    if status == "sending":  # internal: not announced, never shown as a state of its own
        message.status = status
        await session.flush()
        return
    await _set_status(session, message, status, error)


@dataclass(frozen=True, slots=True)
class ChatLine:
    id: int
    direction: str
    author: str
    type: str
    text: str | None
    status: str
    error: str | None
    provider_message_id: str | None
    at: datetime
    has_media: bool = False  # a stored file, served by GET /api/v1/messages/{id}/media


async def chats_of_instance(
    session: AsyncSession,
    *,
    org_id: int,
    instance_id: int,
    contact_wa_id: str | None = None,
    limit: int = 200,
) -> dict[str, list[ChatLine]]:
    """Recent messages per contact (keyed by phone, or id when unknown), oldest first."""
    query = (
        select(Message, Contact.phone, Contact.wa_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Message.org_id == org_id, Message.instance_id == instance_id)
        .order_by(Message.id.desc())
        .limit(limit)
    )
    if contact_wa_id is not None:
        key, _phone = contact_key(contact_wa_id)
        query = query.where(Contact.contact_key == key)
    chats: dict[str, list[ChatLine]] = {}
    for message, phone, wa_id in (await session.execute(query)).tuples():
        line = ChatLine(
            message.id,
            message.direction,
            message.author,
            message.type,
            message.text,
            "sending" if message.status == "sending" else message.status,
            message.error,
            message.provider_message_id,
            message.sent_at,
            bool(message.media and message.media.get("path")),
        )
        chats.setdefault(phone or wa_id, []).insert(0, line)
    return chats
