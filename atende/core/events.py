"""The transactional outbox: events are rows written in the same transaction as the change.

`record_event` takes the next per-organisation sequence number (a counter row, locked by the
update until commit, so sequence numbers of one organisation become visible in order), stores the
event, and remembers it on the session; once the transaction commits, the database's commit
listeners learn which organisations have new events (see `Database.add_commit_listener`). A
rolled-back transaction announces nothing.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from atende.core.db import PENDING_COUNT_KEY, PENDING_EVENTS_KEY, Base, UTCDateTime, utcnow
from atende.core.models import BigId


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("org_id", "seq"),
        Index("ix_events_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column()
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EventCounter(Base):
    __tablename__ = "event_counters"

    org_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    last_seq: Mapped[int] = mapped_column(default=0)


class EventPayload(BaseModel):
    """Base of every event schema; subclasses set `event_type` and are registered by it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    event_type: ClassVar[str]


EVENT_SCHEMAS: dict[str, type[EventPayload]] = {}
P = TypeVar("P", bound=type[EventPayload])


def event_schema(cls: P) -> P:
    """Class decorator: register an event payload schema under its `event_type`."""
    if cls.event_type in EVENT_SCHEMAS:
        raise ValueError(f"event type {cls.event_type!r} registered twice")
    EVENT_SCHEMAS[cls.event_type] = cls
    return cls


async def record_event(session: AsyncSession, *, org_id: int, payload: EventPayload) -> int:
    """Store an event in the caller's transaction and return its sequence number."""
    if EVENT_SCHEMAS.get(payload.event_type) is not type(payload):
        raise ValueError(f"unregistered event type {payload.event_type!r}")
    seq = await session.scalar(
        update(EventCounter)
        .where(EventCounter.org_id == org_id)
        .values(last_seq=EventCounter.last_seq + 1)
        .returning(EventCounter.last_seq)
    )
    if seq is None:
        seq = 1
        await session.execute(insert(EventCounter).values(org_id=org_id, last_seq=seq))
    await session.execute(
        insert(Event).values(
            org_id=org_id,
            seq=seq,
            type=payload.event_type,
            payload=payload.model_dump(mode="json"),
            created_at=utcnow(),
        )
    )
    pending: dict[int, int] = session.info.setdefault(PENDING_EVENTS_KEY, {})
    pending[org_id] = max(seq, pending.get(org_id, 0))
    session.info[PENDING_COUNT_KEY] = session.info.get(PENDING_COUNT_KEY, 0) + 1
    return seq


def append_events(conn: Connection, *, org_id: int, payloads: Sequence[EventPayload]) -> int:
    """`record_event` for batch writers on a connection of their own (a thread): stores the
    events with consecutive sequence numbers and returns the highest. The caller announces
    them after its commit (`Database.announce_committed`)."""
    for payload in payloads:
        if EVENT_SCHEMAS.get(payload.event_type) is not type(payload):
            raise ValueError(f"unregistered event type {payload.event_type!r}")
    count = len(payloads)
    last = conn.execute(
        update(EventCounter)
        .where(EventCounter.org_id == org_id)
        .values(last_seq=EventCounter.last_seq + count)
        .returning(EventCounter.last_seq)
    ).scalar()
    if last is None:
        last = count
        conn.execute(insert(EventCounter).values(org_id=org_id, last_seq=last))
    now = utcnow()
    conn.execute(
        insert(Event),
        [
            {
                "org_id": org_id,
                "seq": last - count + 1 + index,
                "type": payload.event_type,
                "payload": payload.model_dump(mode="json"),
                "created_at": now,
            }
            for index, payload in enumerate(payloads)
        ],
    )
    return int(last)


# --- the core module's own events -------------------------------------------------------------


@event_schema
class MemberJoined(EventPayload):
    event_type: ClassVar[str] = "member.joined"
    user_id: int
    name: str
    email: str
    role: str


@event_schema
class MemberUpdated(EventPayload):
    event_type: ClassVar[str] = "member.updated"
    user_id: int
    role: str


@event_schema
class MemberRemoved(EventPayload):
    event_type: ClassVar[str] = "member.removed"
    user_id: int


# --- reading ---------------------------------------------------------------------------------


async def latest_seq(session: AsyncSession, *, org_id: int) -> int:
    """The organisation's last event: a page reflects it; its stream resumes right after it."""
    seq = await session.scalar(select(EventCounter.last_seq).where(EventCounter.org_id == org_id))
    return int(seq or 0)


async def oldest_retained_seq(session: AsyncSession, *, org_id: int) -> int | None:
    seq = await session.scalar(select(func.min(Event.seq)).where(Event.org_id == org_id))
    return None if seq is None else int(seq)


async def events_after(
    session: AsyncSession, *, org_id: int, after: int, limit: int
) -> list[Event]:
    rows = await session.scalars(
        select(Event)
        .where(Event.org_id == org_id, Event.seq > after)
        .order_by(Event.seq)
        .limit(limit)
    )
    return list(rows)


async def recent_events(session: AsyncSession, *, org_id: int, limit: int) -> list[Event]:
    rows = await session.scalars(
        select(Event).where(Event.org_id == org_id).order_by(Event.seq.desc()).limit(limit)
    )
    return list(rows)
