"""The embedded job runner: claims due jobs with a lease and runs their handlers concurrently.

One dispatcher task claims due jobs (pending and due, or running with an expired lease: the
process that held it died) in short write transactions, up to the free capacity, and sleeps until
the earliest next due time or until woken (a commit that enqueued, a handler that finished). A
slow periodic sweep covers lost wake-ups and other processes' enqueues: they cost latency, never
data. While a handler runs, its lease is extended every half lease, so a long job is not taken
over; a runner that dies stops extending and its jobs are claimed again once the lease expires.

Each claim increments `attempts`, which doubles as the fencing token: a runner only records the
outcome of a job while `attempts` is still the one it claimed, so a runner that lost its lease
cannot overwrite the outcome of the runner that took the job over.
"""

import asyncio
import logging
import random
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update

from atende.core.db import Database, utcnow
from atende.core.jobs import (
    Job,
    JobHandler,
    JobRecord,
    JobStatus,
    PermanentFailure,
    RetryLater,
    add_waker,
    remove_waker,
    truncate_error,
)

log = logging.getLogger("atende.jobs")


def _due(now: datetime) -> Any:
    pending = and_(JobRecord.status == JobStatus.pending, JobRecord.run_at <= now)
    expired = and_(JobRecord.status == JobStatus.running, JobRecord.lease_until < now)
    return or_(pending, expired)


async def claim_due(
    database: Database, *, kinds: list[str], limit: int, lease_seconds: float
) -> list[tuple[Job, int]]:
    """Claim up to `limit` due jobs of these kinds; returns each with its `max_attempts`.

    SQLite: the write transaction starts with BEGIN IMMEDIATE, so claims of all processes are
    serialised. PostgreSQL: `FOR UPDATE SKIP LOCKED` lets concurrent claimers pass each other.
    """
    if limit <= 0 or not kinds:
        return []
    now = utcnow()
    candidates = (
        select(JobRecord.id)
        .where(_due(now), JobRecord.kind.in_(kinds))
        .order_by(JobRecord.run_at)
        .limit(limit)
    )
    claim = update(JobRecord).values(
        status=JobStatus.running,
        lease_until=now + timedelta(seconds=lease_seconds),
        attempts=JobRecord.attempts + 1,
        updated_at=now,
    )
    async with database.unit_of_work() as session:
        if session.get_bind().dialect.name == "postgresql":
            locked = candidates.with_for_update(skip_locked=True).cte("claimable")
            claim = claim.where(JobRecord.id == locked.c.id)
        else:
            claim = claim.where(JobRecord.id.in_(candidates.scalar_subquery()))
        rows = await session.execute(
            claim.where(_due(now)).returning(
                JobRecord.id,
                JobRecord.kind,
                JobRecord.key,
                JobRecord.payload,
                JobRecord.org_id,
                JobRecord.attempts,
                JobRecord.max_attempts,
            )
        )
        return [
            (
                Job(
                    id=r.id,
                    kind=r.kind,
                    key=r.key,
                    payload=r.payload,
                    org_id=r.org_id,
                    attempt=r.attempts,
                ),
                r.max_attempts,
            )
            for r in rows
        ]


async def next_due_at(database: Database, *, kinds: list[str]) -> datetime | None:
    """The earliest time a job of these kinds becomes due (or its lease expires)."""
    async with database.unit_of_work(write=False) as session:
        pending = await session.scalar(
            select(func.min(JobRecord.run_at)).where(
                JobRecord.status == JobStatus.pending, JobRecord.kind.in_(kinds)
            )
        )
        leased = await session.scalar(
            select(func.min(JobRecord.lease_until)).where(
                JobRecord.status == JobStatus.running, JobRecord.kind.in_(kinds)
            )
        )
    times = [t for t in (pending, leased) if t is not None]
    return min(times) if times else None


async def purge_finished(
    database: Database, *, done_retention: timedelta, failed_retention: timedelta
) -> int:
    """Delete finished jobs past retention (until then, enqueueing their key is a no-op)."""
    now = utcnow()
    async with database.unit_of_work() as session:
        result = await session.execute(
            delete(JobRecord).where(
                or_(
                    and_(
                        JobRecord.status == JobStatus.done,
                        JobRecord.finished_at < now - done_retention,
                    ),
                    and_(
                        JobRecord.status == JobStatus.failed,
                        JobRecord.finished_at < now - failed_retention,
                    ),
                )
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)


class JobRunner:
    """Runs the handlers of registered job kinds; `start()` in the lifespan, `stop()` after."""

    def __init__(
        self,
        database: Database,
        *,
        concurrency: int = 8,
        lease_seconds: float = 60.0,
        poll_seconds: float = 5.0,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        stop_grace_seconds: float = 10.0,
        done_retention: timedelta = timedelta(hours=24),
        failed_retention: timedelta = timedelta(days=7),
        purge_every_seconds: float = 600.0,
    ) -> None:
        self.database = database
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.stop_grace_seconds = stop_grace_seconds
        self.done_retention = done_retention
        self.failed_retention = failed_retention
        self.purge_every_seconds = purge_every_seconds
        self._handlers: dict[str, JobHandler] = {}
        self._running: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._next_purge = 0.0

    def register(self, kind: str, handler: JobHandler) -> None:
        if kind in self._handlers:
            raise ValueError(f"job kind {kind!r} registered twice")
        self._handlers[kind] = handler
        self.wake()

    @property
    def running_count(self) -> int:
        return len(self._running)

    def wake(self) -> None:
        """Make the dispatcher look for due jobs now (safe from any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if current is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    async def start(self) -> None:
        if self._dispatcher is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._next_purge = time.monotonic()
        add_waker(self.database, self.wake)
        self._dispatcher = asyncio.create_task(self._dispatch(), name="jobs-dispatcher")

    async def stop(self, grace_seconds: float | None = None) -> None:
        """Stop claiming; wait for running handlers up to the grace period, then cancel them
        (their leases expire and another runner takes them over)."""
        remove_waker(self.database, self.wake)
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            await asyncio.gather(self._dispatcher, return_exceptions=True)
            self._dispatcher = None
        grace = self.stop_grace_seconds if grace_seconds is None else grace_seconds
        if self._running:
            _done, pending = await asyncio.wait(set(self._running), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._loop = None

    # --- the dispatcher ----------------------------------------------------------------------

    async def _dispatch(self) -> None:
        while True:
            self._wake.clear()
            try:
                delay = await self._dispatch_once()
            except Exception:
                log.exception("job dispatch failed; trying again later")
                delay = self.poll_seconds
            if delay > 0:
                try:
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
                except TimeoutError:
                    pass

    async def _dispatch_once(self) -> float:
        """Claims and starts what is due; returns how long to sleep unless woken."""
        if time.monotonic() >= self._next_purge:
            self._next_purge = time.monotonic() + self.purge_every_seconds
            removed = await purge_finished(
                self.database,
                done_retention=self.done_retention,
                failed_retention=self.failed_retention,
            )
            if removed:
                log.info("finished jobs purged", extra={"count": removed})
        free = self.concurrency - len(self._running)
        kinds = list(self._handlers)
        if free <= 0 or not kinds:
            return self.poll_seconds
        claimed = await claim_due(
            self.database, kinds=kinds, limit=free, lease_seconds=self.lease_seconds
        )
        for job, max_attempts in claimed:
            task = asyncio.create_task(self._run(job, max_attempts), name=f"job-{job.id}")
            self._running.add(task)
            task.add_done_callback(self._finished)
        if len(claimed) == free:
            return 0.0  # there may be more: claim again as soon as a slot frees up
        due = await next_due_at(self.database, kinds=kinds)
        if due is None:
            return self.poll_seconds
        wait = (due - utcnow()).total_seconds()
        if wait <= 0:
            # Due but not claimable (taken meanwhile, or row-locked by another transaction).
            return 0.0 if claimed else min(self.poll_seconds, 0.05)
        return min(self.poll_seconds, wait + 0.001)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._wake.set()

    # --- one job -----------------------------------------------------------------------------

    async def _run(self, job: Job, max_attempts: int) -> None:
        context: dict[str, Any] = {
            "job_id": job.id,
            "job_kind": job.kind,
            "job_key": job.key,
            "attempt": job.attempt,
        }
        try:
            await self._attempt(job, max_attempts, context)
        except Exception:
            # Recording the outcome failed: the lease expires and the job is claimed again.
            log.exception("job outcome could not be recorded", extra=context)

    async def _attempt(self, job: Job, max_attempts: int, context: dict[str, Any]) -> None:
        if job.attempt > max_attempts:
            # The process running the last attempt died: its lease expired, nothing is left.
            await self._record(job, JobStatus.failed, error="lease expired on the last attempt")
            log.error("job failed: lease expired on its last attempt", extra=context)
            return
        this_task = asyncio.current_task()
        assert this_task is not None
        heartbeat = asyncio.create_task(self._heartbeat(job, this_task))
        try:
            await self._handlers[job.kind](job)
        except PermanentFailure as exc:
            heartbeat.cancel()
            await self._record(job, JobStatus.failed, error=f"permanent: {exc.reason}")
            log.error("job failed permanently", extra={**context, "error": exc.reason})
        except Exception as exc:
            heartbeat.cancel()
            error = truncate_error(f"{type(exc).__name__}: {exc}")
            if job.attempt >= max_attempts:
                await self._record(job, JobStatus.failed, error=error)
                log.error("job failed after its last attempt", extra={**context, "error": error})
                return
            delay = exc.delay if isinstance(exc, RetryLater) else None
            if delay is None:
                delay = self._backoff(job.attempt)
            await self._record(
                job, JobStatus.pending, error=error, run_at=utcnow() + timedelta(seconds=delay)
            )
            level = logging.INFO if isinstance(exc, RetryLater) else logging.WARNING
            extra = {**context, "error": error, "delay": round(delay, 3)}
            log.log(level, "job will be retried", extra=extra)
        else:
            heartbeat.cancel()
            await self._record(job, JobStatus.done)
            log.info("job done", extra=context)
        finally:
            heartbeat.cancel()

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not a secret

    def _owned(self, job: Job) -> Any:
        return and_(
            JobRecord.id == job.id,
            JobRecord.status == JobStatus.running,
            JobRecord.attempts == job.attempt,
        )

    async def _record(
        self,
        job: Job,
        status: JobStatus,
        *,
        error: str | None = None,
        run_at: datetime | None = None,
    ) -> None:
        now = utcnow()
        values: dict[str, Any] = {"status": status, "lease_until": None, "updated_at": now}
        if error is not None:
            values["last_error"] = truncate_error(error)
        if run_at is not None:
            values["run_at"] = run_at
        if status in (JobStatus.done, JobStatus.failed):
            values["finished_at"] = now
        async with self.database.unit_of_work() as session:
            result = await session.execute(update(JobRecord).where(self._owned(job)).values(values))
        if not getattr(result, "rowcount", 0):
            log.warning(
                "job outcome not recorded: its lease was lost",
                extra={"job_id": job.id, "job_key": job.key, "attempt": job.attempt},
            )

    async def _heartbeat(self, job: Job, handler_task: asyncio.Task[Any]) -> None:
        """Extends the lease every half lease; if it was lost (another runner took the job
        over), cancels the handler, so that the job never runs twice at once."""
        interval = self.lease_seconds / 2
        while True:
            await asyncio.sleep(interval)
            try:
                async with self.database.unit_of_work() as session:
                    result = await session.execute(
                        update(JobRecord)
                        .where(self._owned(job))
                        .values(lease_until=utcnow() + timedelta(seconds=self.lease_seconds))
                    )
            except Exception:
                log.exception("job lease extension failed", extra={"job_id": job.id})
                interval = self.lease_seconds / 10  # try again well before the lease ends
                continue
            if not getattr(result, "rowcount", 0):
                log.warning(
                    "job lease lost; its handler is cancelled",
                    extra={"job_id": job.id, "job_key": job.key, "attempt": job.attempt},
                )
                handler_task.cancel()
                return
            interval = self.lease_seconds / 2
