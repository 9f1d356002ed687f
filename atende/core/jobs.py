"""Durable jobs: work recorded in the caller's transaction, run later by a `JobRunner`.

`enqueue` inserts a row into `jobs` in the same transaction as the change that caused the work,
under an idempotency key (a second enqueue of the same key is a no-op, also after the job ran,
for as long as the finished row is kept). Once that transaction commits, the runners of the
database are woken (a rolled-back transaction wakes nobody and leaves no job). The runner itself
lives in `atende.core.jobs_runner`.
"""

import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    String,
    Text,
    bindparam,
    delete,
    event,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql import Executable

from atende.core.db import DATABASE_KEY, Base, Database, OutboxSession, UTCDateTime, utcnow
from atende.core.models import BigId

MAX_ERROR_LENGTH = 2000
PENDING_JOBS_KEY = "atende.pending_jobs"


class JobStatus(StrEnum):
    pending = "pending"
    running = "running"
    done = "done"
    failed = "failed"


class JobRecord(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_run_at", "status", "run_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True, default=None
    )
    kind: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.pending)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=8)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


@dataclass(frozen=True)
class Job:
    """What a handler receives. `attempt` counts from 1."""

    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    org_id: int | None
    attempt: int


JobHandler = Callable[[Job], Awaitable[None]]


@dataclass(frozen=True)
class JobInfo:
    key: str
    kind: str
    status: JobStatus
    attempts: int
    max_attempts: int
    run_at: datetime
    lease_until: datetime | None
    last_error: str | None
    finished_at: datetime | None
    org_id: int | None
    payload: dict[str, Any]


class RetryLater(Exception):
    """Raised by a handler: try again after `delay` seconds (None: the runner's backoff).

    The attempt still counts towards `max_attempts`."""

    def __init__(self, delay: float | None = None, reason: str = "") -> None:
        super().__init__(reason or "retry later")
        self.delay = delay
        self.reason = reason


class PermanentFailure(Exception):
    """Raised by a handler: the job can never succeed; mark it failed without retrying."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def truncate_error(text: str) -> str:
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 1] + "…"


# --- writing, in the caller's transaction ----------------------------------------------------

Step = tuple[Executable, dict[str, Any]]
_JOB_COLUMNS = (
    "org_id", "kind", "key", "payload", "status", "attempts", "max_attempts", "run_at",
    "created_at", "updated_at",
)  # fmt: skip


@cache
def _insert_statement(dialect: str) -> Executable:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement: Executable = (
        insert(JobRecord)
        .values({column: bindparam(column) for column in _JOB_COLUMNS})
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return statement


def enqueue_step(
    dialect: str,
    *,
    kind: str,
    key: str,
    payload: dict[str, Any],
    org_id: int | None = None,
    run_at: datetime | None = None,
    max_attempts: int = 8,
) -> Step:
    """`enqueue` as a prebuilt (statement, parameters) step, for writers that run their own
    statements (the intake's batch writer). The writer wakes the runners after its commit."""
    now = utcnow()
    return _insert_statement(dialect), {
        "org_id": org_id,
        "kind": kind,
        "key": key,
        "payload": payload,
        "status": JobStatus.pending.value,
        "attempts": 0,
        "max_attempts": max_attempts,
        "run_at": run_at or now,
        "created_at": now,
        "updated_at": now,
    }


_CANCEL_PENDING = delete(JobRecord).where(
    JobRecord.kind == bindparam("kind"),
    JobRecord.status == JobStatus.pending.value,
    JobRecord.key.like(bindparam("pattern"), escape="\\"),
    JobRecord.key != bindparam("keep"),
)


def cancel_pending_step(*, kind: str, key_prefix: str, keep: str) -> Step:
    """Deletes pending jobs of `kind` whose key starts with `key_prefix`, except `keep`: a
    newer job supersedes them (a burst of messages gets one reply)."""
    escaped = key_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return _CANCEL_PENDING, {"kind": kind, "pattern": escaped + "%", "keep": keep}


async def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    key: str,
    payload: dict[str, Any],
    org_id: int | None = None,
    run_at: datetime | None = None,
    max_attempts: int = 8,
) -> bool:
    """Record a job in the caller's transaction. False if a job with this key already exists."""
    dialect = session.get_bind().dialect.name
    _statement, params = enqueue_step(
        dialect,
        kind=kind,
        key=key,
        payload=payload,
        org_id=org_id,
        run_at=run_at,
        max_attempts=max_attempts,
    )
    statement = _returning_id(dialect)
    inserted = (await session.execute(statement, params)).scalar_one_or_none() is not None
    if inserted:
        session.info[PENDING_JOBS_KEY] = True
    return inserted


@cache
def _returning_id(dialect: str) -> Any:
    return _insert_statement(dialect).returning(JobRecord.id)  # type: ignore[attr-defined]


async def reschedule(session: AsyncSession, *, key: str, run_at: datetime) -> bool:
    """Move a still-pending job (debouncing). False if there is none or it already started."""
    moved = await session.scalar(
        update(JobRecord)
        .where(JobRecord.key == key, JobRecord.status == JobStatus.pending)
        .values(run_at=run_at, updated_at=utcnow())
        .returning(JobRecord.id)
    )
    if moved is not None:
        session.info[PENDING_JOBS_KEY] = True
    return moved is not None


async def cancel(session: AsyncSession, *, key: str) -> bool:
    """Remove a still-pending job (its key becomes free again). False if none or it started."""
    removed = await session.scalar(
        delete(JobRecord)
        .where(JobRecord.key == key, JobRecord.status == JobStatus.pending)
        .returning(JobRecord.id)
    )
    return removed is not None


async def job_status(session: AsyncSession, *, key: str) -> JobInfo | None:
    row = await session.scalar(select(JobRecord).where(JobRecord.key == key))
    if row is None:
        return None
    return JobInfo(
        key=row.key,
        kind=row.kind,
        status=JobStatus(row.status),
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        run_at=row.run_at,
        lease_until=row.lease_until,
        last_error=row.last_error,
        finished_at=row.finished_at,
        org_id=row.org_id,
        payload=row.payload,
    )


# --- waking the runners after commit ---------------------------------------------------------

Waker = Callable[[], None]
_wakers: "weakref.WeakKeyDictionary[Database, set[Waker]]" = weakref.WeakKeyDictionary()


def add_waker(database: Database, waker: Waker) -> None:
    """`waker` is called after each commit (through `database`) that enqueued or rescheduled."""
    _wakers.setdefault(database, set()).add(waker)


def remove_waker(database: Database, waker: Waker) -> None:
    _wakers.get(database, set()).discard(waker)


def mark_jobs_pending(session: AsyncSession) -> None:
    """For jobs written by statements of the caller's own: wake the runners after commit."""
    session.info[PENDING_JOBS_KEY] = True


def wake_runners(database: Database) -> None:
    """For writers outside a session (batch writers) that committed jobs."""
    for waker in list(_wakers.get(database, ())):
        waker()


@event.listens_for(OutboxSession, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if not session.info.pop(PENDING_JOBS_KEY, False):
        return
    database = session.info.get(DATABASE_KEY)
    if isinstance(database, Database):
        wake_runners(database)


@event.listens_for(OutboxSession, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(PENDING_JOBS_KEY, None)
