"""Durable jobs: leases and takeovers, two runners, concurrency, stopping, retention."""

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from atende.core.db import Database, utcnow
from atende.core.jobs import (
    Job,
    JobRecord,
    JobStatus,
    enqueue,
)
from atende.core.jobs_runner import JobRunner, claim_due, purge_finished
from tests.jobs.helpers import FAST, Recorder, add, settle, settle_status, start, status

pytestmark = pytest.mark.timeout(60)


async def test_a_dead_runners_job_is_taken_over_when_its_lease_expires(
    database: Database, kind: str, runners: list[JobRunner]
) -> None:
    key = f"{kind}:orphan"
    await add(database, kind, key)
    # A runner claims the job and dies without finishing it or extending its lease.
    claimed = await claim_due(database, kinds=[kind], limit=5, lease_seconds=0.3)
    assert [job.key for job, _max in claimed] == [key]
    assert await claim_due(database, kinds=[kind], limit=5, lease_seconds=0.3) == []
    handler = Recorder()
    await start(runners, database, kind, handler)
    info = await settle_status(database, key, JobStatus.done)
    assert [job.attempt for job in handler.calls] == [2]
    assert info.attempts == 2


async def test_a_job_whose_last_attempt_died_fails(
    database: Database, kind: str, runners: list[JobRunner]
) -> None:
    key = f"{kind}:last"
    await add(database, kind, key, max_attempts=1)
    await claim_due(database, kinds=[kind], limit=1, lease_seconds=0.1)
    handler = Recorder()
    await start(runners, database, kind, handler)
    info = await settle_status(database, key, JobStatus.failed)
    assert handler.calls == []
    assert info.last_error == "lease expired on the last attempt"


async def test_two_runners_on_one_database_never_run_a_job_twice(
    database_url: str, database: Database, kind: str, runners: list[JobRunner]
) -> None:
    other = Database(database_url)  # another process: its own engine and connections
    executions: Counter[str] = Counter()
    per_runner: Counter[str] = Counter()
    in_flight: set[str] = set()
    overlaps: list[str] = []

    def handler_of(name: str) -> Callable[[Job], Awaitable[None]]:
        async def handler(job: Job) -> None:
            if job.key in in_flight:
                overlaps.append(job.key)
            in_flight.add(job.key)
            executions[job.key] += 1
            per_runner[name] += 1
            await asyncio.sleep(0.005)
            in_flight.discard(job.key)

        return handler

    async def add_many(keys: list[str]) -> None:
        async with database.unit_of_work() as session:
            for key in keys:
                await enqueue(session, kind=kind, key=key, payload={})

    keys = [f"{kind}:{n}" for n in range(200)]
    await add_many(keys[:100])
    first = await start(runners, database, kind, handler_of("first"), poll_seconds=0.05)
    second = JobRunner(other, **{**FAST, "poll_seconds": 0.05})
    second.register(kind, handler_of("second"))
    try:
        await second.start()
        for chunk in range(100, 200, 20):  # more work arrives while both are busy
            await add_many(keys[chunk : chunk + 20])
        await settle(lambda: sum(executions.values()) >= 200, timeout=30)
        await settle(lambda: first.running_count == second.running_count == 0)
        assert overlaps == []
        assert set(executions) == set(keys)
        assert all(count == 1 for count in executions.values())
        assert per_runner["first"] > 0
        assert per_runner["second"] > 0
    finally:
        await second.stop(grace_seconds=0)
        await other.dispose()


async def test_concurrency_is_bounded(
    database: Database, kind: str, runners: list[JobRunner]
) -> None:
    running = 0
    peak = 0

    async def handler(_job: Job) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.05)
        running -= 1

    async with database.unit_of_work() as session:
        for n in range(12):
            await enqueue(session, kind=kind, key=f"{kind}:{n}", payload={})
    await start(runners, database, kind, handler, concurrency=3)
    await settle_status(database, f"{kind}:11", JobStatus.done)
    await settle(lambda: running == 0)
    assert peak == 3


async def test_a_long_job_extends_its_lease_and_is_not_taken_over(
    database_url: str, database: Database, kind: str, runners: list[JobRunner]
) -> None:
    key = f"{kind}:long"
    started = asyncio.Event()
    leases: list[datetime] = []
    handler_calls = Counter[str]()

    async def handler(job: Job) -> None:
        handler_calls[job.key] += 1
        started.set()
        for _ in range(4):
            await asyncio.sleep(0.2)
            leases.append((await status(database, key)).lease_until)

    other = Database(database_url)
    eager = JobRunner(other, **{**FAST, "lease_seconds": 0.3, "poll_seconds": 0.05})
    eager.register(kind, handler)
    try:
        await start(runners, database, kind, handler, lease_seconds=0.3)
        await add(database, kind, key)
        await asyncio.wait_for(started.wait(), 5)
        # A second runner polls eagerly the whole time the job runs (lease 0.3 s, job 0.8 s).
        await eager.start()
        info = await settle_status(database, key, JobStatus.done)
        assert handler_calls == {key: 1}
        assert info.attempts == 1
        assert leases == sorted(leases)
        assert leases[-1] > leases[0]
    finally:
        await eager.stop(grace_seconds=0)
        await other.dispose()


async def test_a_runner_that_lost_its_lease_cancels_the_handler(
    database: Database, kind: str, runners: list[JobRunner]
) -> None:
    key = f"{kind}:taken-over"
    started = asyncio.Event()
    cancelled: list[int] = []

    async def slow(job: Job) -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(job.attempt)
            raise

    runner = await start(runners, database, kind, slow, lease_seconds=0.2)
    await add(database, kind, key)
    await asyncio.wait_for(started.wait(), 5)
    # Another runner took the job over (its claim bumped the attempt, the fencing token).
    async with database.unit_of_work() as session:
        await session.execute(
            update(JobRecord)
            .where(JobRecord.key == key)
            .values(attempts=JobRecord.attempts + 1, lease_until=utcnow() + timedelta(hours=1))
        )
    await settle(lambda: cancelled == [1])
    await settle(lambda: runner.running_count == 0)
    info = await status(database, key)
    assert info.status == JobStatus.running  # the new owner's outcome is not overwritten
    assert info.attempts == 2


async def test_stop_waits_for_running_jobs(database: Database, kind: str) -> None:
    started = asyncio.Event()
    finished: list[str] = []

    async def handler(job: Job) -> None:
        started.set()
        await asyncio.sleep(0.2)
        finished.append(job.key)

    runner = JobRunner(database, **FAST)
    runner.register(kind, handler)
    await runner.start()
    await add(database, kind, f"{kind}:graceful")
    await asyncio.wait_for(started.wait(), 5)
    await runner.stop(grace_seconds=5)
    assert finished == [f"{kind}:graceful"]
    assert (await status(database, f"{kind}:graceful")).status == JobStatus.done


async def test_stop_cancels_jobs_past_the_grace_period_and_they_are_run_again(
    database: Database, kind: str, runners: list[JobRunner]
) -> None:
    key = f"{kind}:stuck"
    started = asyncio.Event()
    cancelled: list[int] = []

    async def stuck(job: Job) -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(job.attempt)
            raise

    runner = JobRunner(database, lease_seconds=0.3, **FAST)
    runner.register(kind, stuck)
    await runner.start()
    runners.append(runner)
    await add(database, kind, key)
    await asyncio.wait_for(started.wait(), 5)
    await runner.stop(grace_seconds=0.05)
    assert cancelled == [1]
    assert (await status(database, key)).status == JobStatus.running

    handler = Recorder()
    await start(runners, database, kind, handler)
    await settle_status(database, key, JobStatus.done)
    assert [job.attempt for job in handler.calls] == [2]


async def test_finished_jobs_are_purged_after_retention(database: Database, kind: str) -> None:
    for name in ("old", "recent", "old-failed", "pending"):
        await add(database, kind, f"{kind}:{name}")
    long_ago = utcnow() - timedelta(days=30)
    finished = {"old": long_ago, "recent": utcnow(), "old-failed": long_ago}
    async with database.unit_of_work() as session:
        for name, when in finished.items():
            done = JobStatus.failed if "failed" in name else JobStatus.done
            await session.execute(
                update(JobRecord)
                .where(JobRecord.key == f"{kind}:{name}")
                .values(status=done, finished_at=when)
            )
    removed = await purge_finished(
        database, done_retention=timedelta(hours=24), failed_retention=timedelta(days=7)
    )
    assert removed == 2
    assert await status(database, f"{kind}:old") is None
    assert await status(database, f"{kind}:old-failed") is None
    assert await status(database, f"{kind}:recent") is not None
    assert await status(database, f"{kind}:pending") is not None
