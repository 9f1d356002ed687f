"""What the conversation view needs beyond the messages themselves: the quoted messages of a
page (one query), each person's read mark, and sending a failed message again."""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from atende.core.db import utcnow
from atende.core.errors import Conflict
from atende.core.events import record_event
from atende.core.jobs import enqueue
from atende.inbox.conversations import get_conversation, get_message
from atende.inbox.events import MessageStatusChanged
from atende.inbox.models import ConversationRead, Message
from atende.inbox.service import SEND_ATTEMPTS, SEND_JOB


@dataclass(frozen=True, slots=True)
class Quoted:
    author: str
    type: str
    text: str | None


async def quoted_messages(
    session: AsyncSession, *, org_id: int, conversation_id: int, messages: Iterable[Message]
) -> dict[str, Quoted]:
    """The messages a page's replies quote, by provider message id, in one query."""
    wanted = {m.reply_to_provider_id for m in messages if m.reply_to_provider_id}
    if not wanted:
        return {}
    rows = await session.execute(
        select(Message.provider_message_id, Message.author, Message.type, Message.text).where(
            Message.org_id == org_id,
            Message.conversation_id == conversation_id,
            Message.provider_message_id.in_(wanted),
        )
    )
    return {pid: Quoted(author, type_, text) for pid, author, type_, text in rows if pid}


async def last_read(session: AsyncSession, *, user_id: int, conversation_id: int) -> int | None:
    """The newest message this person has seen in the conversation (None: never opened)."""
    return await session.scalar(
        select(ConversationRead.last_read_message_id).where(
            ConversationRead.user_id == user_id,
            ConversationRead.conversation_id == conversation_id,
        )
    )


async def mark_read(
    session: AsyncSession, *, org_id: int, user_id: int, conversation_id: int, up_to: int | None
) -> None:
    """This person has seen the conversation up to message `up_to` (default: its newest). The
    mark only moves forward, whatever order two tabs report in."""
    await get_conversation(session, org_id=org_id, conversation_id=conversation_id)
    newest = select(Message.id).where(
        Message.conversation_id == conversation_id, Message.org_id == org_id
    )
    if up_to is not None:
        newest = newest.where(Message.id <= up_to)
    seen = await session.scalar(newest.order_by(Message.id.desc()).limit(1))
    if seen is None:
        return
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = builder(ConversationRead).values(
        user_id=user_id,
        conversation_id=conversation_id,
        org_id=org_id,
        last_read_message_id=seen,
        updated_at=utcnow(),
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[ConversationRead.user_id, ConversationRead.conversation_id],
            set_={
                "last_read_message_id": statement.excluded.last_read_message_id,
                "updated_at": statement.excluded.updated_at,
            },
            where=ConversationRead.last_read_message_id < statement.excluded.last_read_message_id,
        )
    )


async def retry_send(
    session: AsyncSession, *, org_id: int, conversation_id: int, message_id: int
) -> Message:
    """A failed outbound message goes back to `queued` with a new send job. The switch from
    `failed` is one conditional UPDATE: of two clicks racing, only one requeues it."""
    message = await get_message(
        session, org_id=org_id, conversation_id=conversation_id, message_id=message_id
    )
    if message.direction != "out":
        raise Conflict("Only messages sent from here can be sent again.", field="direction")
    conversation, contact = await get_conversation(
        session, org_id=org_id, conversation_id=conversation_id
    )
    if conversation.mode == "closed":
        raise Conflict("The conversation is closed; reopen it to write.", field="mode")
    if contact.opted_out:
        raise Conflict("This contact asked not to be contacted.", field="contact")
    retries = int((message.extra or {}).get("retries", 0)) + 1
    requeued = await session.execute(
        update(Message)
        .where(Message.id == message.id, Message.status == "failed")
        .values(status="queued", error=None, extra={**(message.extra or {}), "retries": retries})
        .execution_options(synchronize_session=False)
    )
    if requeued.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("Only a failed message can be sent again.", field="status")
    await session.refresh(message)
    await enqueue(
        session,
        kind=SEND_JOB,
        key=f"send:message:{message.id}:retry:{retries}",
        payload={"message_id": message.id, "max_attempts": SEND_ATTEMPTS},
        org_id=org_id,
        max_attempts=SEND_ATTEMPTS,
    )
    await record_event(
        session,
        org_id=org_id,
        payload=MessageStatusChanged(
            message_id=message.id, conversation_id=conversation_id, status="queued"
        ),
    )
    return message
