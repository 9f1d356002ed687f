"""What whoever answers a conversation (the agents module) reads and claims.

`reply_context` gathers what a reply needs in one read; `claim_reply` is the exactly-once gate:
in the transaction that queues the reply, it locks the conversation and refuses when the
burst was answered already (a retried job) or people took over meanwhile.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from atende.core.db import utcnow
from atende.inbox.media import needs_fetch, safe_mime
from atende.inbox.models import Contact, Conversation, Message
from atende.inbox.service import announce_conversation

ANSWERED_BY = ("agent", "operator")


@dataclass(frozen=True, slots=True)
class Said:
    author: str  # contact | agent | operator
    text: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A voice note or image among the customer's unanswered messages (`media.py` records)."""

    message_id: int
    type: str  # audio | image
    caption: str  # the message's text
    mime_type: str
    path: str | None  # relative to the media root once the bytes are stored
    pending: bool  # still being downloaded
    error: str | None  # the download failed
    transcript: str | None  # stored by `record_transcript` (a retried reply reuses it)


READABLE_TYPES = ("audio", "image")


@dataclass(frozen=True, slots=True)
class ReplyContext:
    org_id: int
    conversation_id: int
    instance_id: int
    mode: str
    bot_paused_until: datetime | None
    contact_phone: str | None
    contact_wa_id: str
    is_group: bool
    opted_out: bool
    last_inbound_id: int
    last_inbound_at: datetime
    unanswered: list[str]  # the customer's messages since the last answer, oldest first
    unanswered_at: list[datetime]  # when each was sent
    unanswered_ids: list[int]  # their message ids
    memory: list[Said]  # the conversation before them, oldest first
    agent_replies_last_minute: int
    agent_has_spoken: bool
    last_agent_text: str | None
    # People have been responsible since then without a word (for the silence resume): the
    # later of the last answer and the first customer message nobody answered.
    quiet_since: datetime
    attachments: tuple[Attachment, ...] = ()  # of the unanswered messages, oldest first


def _words(message: Message) -> str:
    """What a message said: its text, else a voice note's transcript, else `[type]`."""
    transcript = (message.media or {}).get("transcript")
    if message.text:
        return message.text
    return transcript if isinstance(transcript, str) and transcript else f"[{message.type}]"


def _attachment(message: Message) -> Attachment | None:
    media = message.media
    if message.type not in READABLE_TYPES or not isinstance(media, dict):
        return None
    transcript = media.get("transcript")
    return Attachment(
        message_id=message.id,
        type=message.type,
        caption=message.text or "",
        mime_type=safe_mime(media.get("mime_type")),
        path=str(media["path"]) if media.get("path") else None,
        pending=needs_fetch(media),
        error=str(media["error"]) if media.get("error") else None,
        transcript=transcript if isinstance(transcript, str) else None,
    )


async def reply_context(
    session: AsyncSession, *, conversation_id: int, memory: int
) -> ReplyContext | None:
    """None when there is nothing to answer (no customer message since the last answer)."""
    row = (
        await session.execute(
            select(Conversation, Contact)
            .join(Contact, Contact.id == Conversation.contact_id)
            .where(Conversation.id == conversation_id)
        )
    ).first()
    if row is None:
        return None
    conversation, contact = row
    last_answer, last_answer_at = (
        await session.execute(
            select(func.max(Message.id), func.max(Message.sent_at)).where(
                Message.conversation_id == conversation_id, Message.author.in_(ANSWERED_BY)
            )
        )
    ).one()
    inbound = list(
        await session.scalars(
            select(Message)
            .where(
                Message.conversation_id == conversation_id,
                Message.direction == "in",
                Message.id > (last_answer or 0),
            )
            .order_by(Message.id)
        )
    )
    if not inbound:
        return None
    earlier = list(
        await session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.id < inbound[0].id)
            .order_by(Message.id.desc())
            .limit(memory)
        )
    )
    recent = utcnow() - timedelta(minutes=1)
    replies_last_minute = await session.scalar(
        select(func.count())
        .select_from(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.author == "agent",
            Message.created_at > recent,
        )
    )
    last_agent = await session.scalar(
        select(Message.text)
        .where(Message.conversation_id == conversation_id, Message.author == "agent")
        .order_by(Message.id.desc())
        .limit(1)
    )
    spoken = await session.scalar(
        select(Message.id)
        .where(Message.conversation_id == conversation_id, Message.author == "agent")
        .limit(1)
    )
    return ReplyContext(
        org_id=conversation.org_id,
        conversation_id=conversation.id,
        instance_id=conversation.instance_id,
        mode=conversation.mode,
        bot_paused_until=conversation.bot_paused_until,
        contact_phone=contact.phone,
        contact_wa_id=contact.wa_id,
        is_group=contact.is_group,
        opted_out=contact.opted_out,
        last_inbound_id=inbound[-1].id,
        last_inbound_at=inbound[-1].sent_at,
        unanswered=[_words(m) for m in inbound],
        unanswered_at=[m.sent_at for m in inbound],
        unanswered_ids=[m.id for m in inbound],
        memory=[Said(m.author, _words(m)) for m in reversed(earlier)],
        agent_replies_last_minute=int(replies_last_minute or 0),
        agent_has_spoken=spoken is not None,
        last_agent_text=last_agent,
        quiet_since=max(
            inbound[0].sent_at,
            _aware(last_answer_at) if last_answer_at is not None else inbound[0].sent_at,
        ),
        attachments=tuple(a for a in map(_attachment, inbound) if a is not None),
    )


def _aware(value: datetime | str) -> datetime:
    # An aggregate (max) comes back without the column's type on SQLite: a naive UTC string.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def claim_reply(
    session: AsyncSession, *, conversation_id: int, up_to_message_id: int, resume: bool = False
) -> bool:
    """Locks the conversation for this transaction; True if the bot may still answer the
    messages up to `up_to_message_id` (in `bot` mode, nobody answered them since). `resume`:
    a `human` conversation whose people stayed silent goes back to the bot."""
    conversation = await session.scalar(
        select(Conversation).where(Conversation.id == conversation_id).with_for_update()
    )
    if conversation is None:
        return False
    if resume and conversation.mode == "human":
        conversation.mode = "bot"
        await session.flush()
        await announce_conversation(session, conversation)
    if conversation.mode != "bot":
        return False
    answered = await session.scalar(
        select(Message.id)
        .where(
            Message.conversation_id == conversation_id,
            Message.author.in_(ANSWERED_BY),
            Message.id > up_to_message_id,
        )
        .limit(1)
    )
    return answered is None


async def hand_off(session: AsyncSession, *, conversation_id: int) -> None:
    """People take it from here: the bot stays quiet until released (or silence resumes it)."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is not None and conversation.mode == "bot":
        conversation.mode = "human"
        await session.flush()
        await announce_conversation(session, conversation)
