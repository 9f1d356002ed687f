"""Storing one inbound message: the statements, written once, run by two drivers.

`inbound_steps` is a generator that yields SQL statements and receives their results: the
async driver (`record_inbound`, any database) awaits each on the caller's session; the batch
writer (`inbound_writer`, SQLite) runs a whole batch of messages in one transaction on one
thread, because per-statement hops to aiosqlite's thread and ORM bookkeeping cost ten times
more than SQLite itself on the intake's hot path. Both apply the same rules:

- a provider message id is stored once per instance (retries and concurrent duplicates);
- one contact per person (Brazil's 9th digit, @lid ids), one conversation per contact;
- a message typed on the paired phone hands a `bot` conversation to people; a customer's
  message counts as unread and reopens a closed conversation for the bot.
"""

from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, case, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Executable

from atende.core.db import utcnow
from atende.core.events import EventPayload
from atende.core.jobs import cancel_pending_step, enqueue_step
from atende.inbox.events import ConversationUpdated, MessageCreated
from atende.inbox.media import media_fetch_job_step, needs_fetch
from atende.inbox.models import Contact, Conversation, Message
from atende.inbox.phones import contact_key

PREVIEW_CHARS = 120
# Whoever answers conversations (the agents module) registers the handler of this job kind.
REPLY_DUE_JOB = "inbox.reply_due"
REPLY_ATTEMPTS = 5


def reply_key(conversation_id: int, message_id: int | None = None) -> str:
    """Replies are keyed by the message they answer, so a retried job never answers twice."""
    return f"reply:{conversation_id}:" + ("" if message_id is None else f"{message_id}")


@dataclass(frozen=True, slots=True)
class InboundInput:
    provider_message_id: str
    chat_id: str
    phone_digits: str | None
    sender_name: str | None
    type: str
    text: str | None
    timestamp: datetime
    media: dict[str, Any] | None = None
    extra: dict[str, Any] | None = None
    from_me: bool = False
    is_group: bool = False
    reply_to: str | None = None
    agent_answers: bool = False  # an agent answers this number: a reply may become due


@dataclass(frozen=True, slots=True)
class StoredMessage:
    message_id: int
    conversation_id: int
    contact_id: int


@dataclass(frozen=True, slots=True)
class Stored:
    """What a new message wrote: its ids and the events to record with it."""

    message: StoredMessage
    wrote_job: bool
    events: tuple[EventPayload, ...]


# Yields (statement, parameters), receives each one's `Result` (Any: rows of many shapes).
Steps = Generator[tuple[Executable, dict[str, Any]], Any, Stored | None]


def preview_of(type_: str, text: str | None) -> str:
    body = (text or "").strip().replace("\n", " ")
    return (body or f"[{type_}]")[:PREVIEW_CHARS]


def _insert(dialect: str, table: Any) -> Any:
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


@dataclass(frozen=True, slots=True)
class _Statements:
    seen: Executable
    contact: Executable
    conversation_in: Executable
    conversation_from_me: Executable
    message: Executable


@cache
def _statements(dialect: str) -> _Statements:
    """Built once per dialect with bound parameters: constructing a statement (and its cache
    key) costs more than SQLite takes to run it."""
    contact = _insert(dialect, Contact).values(
        {column: bindparam(column) for column in CONTACT_COLUMNS}
    )
    new_contact = contact.excluded
    conversation = _insert(dialect, Conversation).values(
        {column: bindparam(column) for column in CONVERSATION_COLUMNS}
    )
    new = conversation.excluded

    def conversation_upsert(mode: Any) -> Executable:
        upsert: Executable = conversation.on_conflict_do_update(
            index_elements=[Conversation.contact_id],
            set_={
                "mode": mode,
                "unread_count": Conversation.unread_count + new.unread_count,
                "last_message_at": new.last_message_at,
                "last_message_preview": new.last_message_preview,
                "last_inbound_at": case(
                    (new.last_inbound_at.is_(None), Conversation.last_inbound_at),
                    else_=new.last_inbound_at,
                ),
            },
        ).returning(Conversation.id, Conversation.mode, Conversation.unread_count)
        return upsert

    return _Statements(
        seen=select(Message.id).where(
            Message.instance_id == bindparam("instance_id"),
            Message.provider_message_id == bindparam("provider_message_id"),
        ),
        contact=contact.on_conflict_do_update(
            index_elements=[Contact.instance_id, Contact.contact_key],
            set_={
                # Reply where the person writes from, never to an opaque @lid id.
                "wa_id": case(
                    (new_contact.wa_id.like("%@lid"), Contact.wa_id), else_=new_contact.wa_id
                ),
                "name": case((Contact.name == "", new_contact.name), else_=Contact.name),
            },
        ).returning(Contact.id),
        # The customer writes again: a closed conversation reopens, for the bot.
        conversation_in=conversation_upsert(
            case((Conversation.mode == "closed", "bot"), else_=Conversation.mode)
        ),
        # An operator answered from the phone: the bot pauses.
        conversation_from_me=conversation_upsert(
            case((Conversation.mode == "bot", "human"), else_=Conversation.mode)
        ),
        message=_insert(dialect, Message)
        .values({column: bindparam(column) for column in MESSAGE_COLUMNS})
        .on_conflict_do_nothing()
        .returning(Message.id),
    )


CONTACT_COLUMNS = (
    "org_id", "instance_id", "contact_key", "wa_id", "phone", "name", "is_group", "opted_out",
    "created_at",
)  # fmt: skip
CONVERSATION_COLUMNS = (
    "org_id", "instance_id", "contact_id", "mode", "unread_count", "last_message_at",
    "last_message_preview", "last_inbound_at", "created_at",
)  # fmt: skip
MESSAGE_COLUMNS = (
    "org_id", "instance_id", "conversation_id", "direction", "author", "type", "text", "media",
    "extra", "provider_message_id", "status", "reply_to_provider_id", "sent_at", "created_at",
)  # fmt: skip


def inbound_steps(dialect: str, org_id: int, instance_id: int, inbound: InboundInput) -> Steps:
    statements = _statements(dialect)
    seen = yield (
        statements.seen,
        {
            "instance_id": instance_id,
            "provider_message_id": inbound.provider_message_id,
        },
    )
    if seen.first() is not None:
        return None
    now = utcnow()
    key, phone = contact_key(inbound.chat_id, None if inbound.is_group else inbound.phone_digits)
    contact_row = yield (
        statements.contact,
        {
            "org_id": org_id,
            "instance_id": instance_id,
            "contact_key": key,
            "wa_id": inbound.chat_id,
            "phone": phone,
            "name": ""
            if inbound.from_me or inbound.is_group
            else (inbound.sender_name or "")[:200],
            "is_group": inbound.is_group,
            "opted_out": False,
            "created_at": now,
        },
    )
    contact_id = int(contact_row.scalar_one())
    preview = preview_of(inbound.type, inbound.text)
    conversation_row = yield (
        (statements.conversation_from_me if inbound.from_me else statements.conversation_in),
        {
            "org_id": org_id,
            "instance_id": instance_id,
            "contact_id": contact_id,
            "mode": "human" if inbound.from_me else "bot",
            "unread_count": 0 if inbound.from_me else 1,
            "last_message_at": inbound.timestamp,
            "last_message_preview": preview,
            "last_inbound_at": None if inbound.from_me else inbound.timestamp,
            "created_at": now,
        },
    )
    conversation_id, conversation_mode, unread = conversation_row.one()
    extra = inbound.extra
    if inbound.is_group:
        extra = {**(extra or {}), "sender_name": inbound.sender_name}
    direction = "out" if inbound.from_me else "in"
    author = "operator" if inbound.from_me else "contact"
    status = "sent" if inbound.from_me else "delivered"
    message_row = yield (
        statements.message,
        {
            "org_id": org_id,
            "instance_id": instance_id,
            "conversation_id": conversation_id,
            "direction": direction,
            "author": author,
            "type": inbound.type,
            "text": inbound.text,
            "media": inbound.media,
            "extra": extra,
            "provider_message_id": inbound.provider_message_id,
            "status": status,
            "reply_to_provider_id": inbound.reply_to,
            "sent_at": inbound.timestamp,
            "created_at": now,
        },
    )
    message_id = message_row.scalar()
    if message_id is None:  # a concurrent delivery of the same message won
        return None
    wrote_job = needs_fetch(inbound.media)
    if wrote_job:  # media that did not come inline: a job fetches it from the provider
        yield media_fetch_job_step(
            dialect, org_id=org_id, instance_id=instance_id, message_id=int(message_id)
        )
    # In `human` mode too: the agent decides whether people's silence hands it back.
    if inbound.agent_answers and not inbound.from_me and conversation_mode != "closed":
        # A reply may be due: recorded with the message, superseding the one a previous
        # message of the same burst left pending (the agent answers the burst once).
        key = reply_key(int(conversation_id), int(message_id))
        yield cancel_pending_step(
            kind=REPLY_DUE_JOB, key_prefix=reply_key(int(conversation_id)), keep=key
        )
        yield enqueue_step(
            dialect,
            kind=REPLY_DUE_JOB,
            key=key,
            payload={"conversation_id": int(conversation_id), "message_id": int(message_id)},
            org_id=org_id,
            max_attempts=REPLY_ATTEMPTS,
        )
        wrote_job = True
    stored = StoredMessage(int(message_id), int(conversation_id), contact_id)
    at = inbound.timestamp.isoformat()
    return Stored(
        stored,
        wrote_job,
        (
            MessageCreated(
                message_id=stored.message_id,
                conversation_id=stored.conversation_id,
                contact_id=contact_id,
                instance_id=instance_id,
                direction=direction,
                author=author,
                type=inbound.type,
                text=inbound.text,
                status=status,
                at=at,
            ),
            ConversationUpdated(
                conversation_id=stored.conversation_id,
                contact_id=contact_id,
                instance_id=instance_id,
                mode=str(conversation_mode),
                unread_count=int(unread),
                last_message_preview=preview,
                last_message_at=at,
            ),
        ),
    )
