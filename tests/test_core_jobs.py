"""The durable job runner on a real migrated database (SQLite, and PostgreSQL when running).

Every test uses its own job kind, so runners of one test never claim another test's jobs and one
migrated database per backend serves the whole module.
"""

import asyncio
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from atende.core import accounts
from atende.core.db import Database, utcnow
from atende.core.jobs import (
    Job,
    JobRecord,
    JobStatus,
    PermanentFailure,
    RetryLater,
    cancel,
    enqueue,
    job_status,
    reschedule,
)
from atende.core.jobs_runner import JobRunner, claim_due, purge_finished
from atende.core.migrate import upgrade
from tests.conftest import require_service
from tests.support.server import create_pg_database, drop_pg_database

pytestmark = pytest.mark.timeout(60)

FAST = {"poll_seconds": 0.2, "backoff_base": 0.01, "backoff_cap": 0.05}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('jobs') / 'jobs.db'}"
        upgrade(url)
        yield url
        return
    require_service("PostgreSQL", "127.0.0.1", 5432)
    name, url = create_pg_database()
    try:
        upgrade(url)
        yield url
    finally:
        drop_pg_database(name)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


@pytest.fixture
def kind() -> str:
    return f"test.{secrets.token_hex(4)}"


@pytest.fixture
async def runners() -> AsyncIterator[list[JobRunner]]:
    """Runners started by a test; stopped at its end (even when it fails)."""
    started: list[JobRunner] = []
    yield started
    for runner in started:
        await runner.stop(grace_seconds=0)


async def start(
    runners: list[JobRunner],
    database: Database,
    kind: str,
    handler: Callable[[Job], Awaitable[None]],
    **options: Any,
) -> JobRunner:
    runner = JobRunner(database, **{**FAST, **options})
    runner.register(kind, handler)
    await runner.start()
    runners.append(runner)
    return runner


async def add(database: Database, kind: str, key: str, **options: Any) -> bool:
    async with database.unit_of_work() as session:
        return await enqueue(session, kind=kind, key=key, payload={"key": key}, **options)


async def status(database: Database, key: str) -> Any:
    async with database.unit_of_work(write=False) as session:
        return await job_status(session, key=key)


async def settle(predicate: Callable[[], Any], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def settle_status(database: Database, key: str, wanted: JobStatus) -> Any:
    async with asyncio.timeout(10):
        while True:
            info = await status(database, key)
            if info is not None and info.status == wanted:
                return info
            await asyncio.sleep(0.02)


class Recorder:
    """A handler that records each call; `fail` decides per call what to raise."""

    def __init__(self, fail: Callable[[Job], BaseException | None] = lambda _job: None) -> None:
        self.calls: list[Job] = []
        self.times: list[datetime] = []
        self.fail = fail

    async def __call__(self, job: Job) -> None:
        self.calls.append(job)
        self.times.append(utcnow())
        error = self.fail(job)
        if error is not None:
            raise error


# --- enqueueing ------------------------------------------------------------------------------


async def test_enqueue_in_a_rolled_back_transaction_runs_nothing(
    database: Database, kind: str, runners: list[JobRunner]
) -> None:
    handler = Recorder()
    await start(runners, database, kind, handler)

    async def failing_change() -> None:
        async with database.unit_of_work() as session:
            assert await enqueue(session, kind=kind, key=f"{kind}:lost", payload={})
            raise RuntimeError("the change that caused the job failed")

    with pytest.raises(RuntimeError):
        await failing_change()
    await add(database, kind, f"{kind}:kept")
    await settle_status(database, f"{kind}:kept", JobStatus.done)
    assert [job.key for job in handler.calls] == [f"{kind}:kept"]
    assert await status(database, f"{kind}:lost") is None


async def test_duplicate_keys_run_once(
    database: Database, kind: str, runners: list[JobRunner]
) -> None:
    key = f"{kind}:once"
    async with database.unit_of_work() as session:
        assert await enqueue(session, kind=kind, key=key, payload={"n": 1})
        assert not await enqueue(session, kind=kind, key=key, payload={"n": 2})
    assert not await add(database, kind, key)
    handler = Recorder()
    await start(runners, database, kind, handler)
    await settle_status(database, key, JobStatus.done)
    assert not await add(database, kind, key)  # a recently finished key is still taken
    await asyncio.sleep(0.3)
    assert len(handler.calls) == 1
    assert handler.calls[0].payload == {"n": 1}
    assert handler.calls[0].attempt == 1


async def test_a_commit_wakes_the_runner(
    database: Database, kind: str, runners: list[JobRunner]
) -> None:
    """With a slow sweep, only the after-commit wake-up can run the job within the timeout."""
    handler = Recorder()
    await start(runners, database, kind, handler, poll_seconds=3600)
    await asyncio.sleep(0.05)  # the dispatcher found nothing and sleeps
    async with database.unit_of_work() as session:
        org = await accounts.create_organisation(session, name="Jobs")
        await enqueue(session, kind=kind, key=f"{kind}:woken", payload={}, org_id=org.id)
    await settle(lambda: len(handler.calls) == 1, timeout=5)
    assert handler.calls[0].org_id == org.id


# --- outcomes --------------------------------------------------------------------------------


async def test_retries_with_backoff_then_success(
    database: Database, kind: str, runners: list[JobRunner]
) -> None:
    handler = Recorder(lambda job: ConnectionError("provider down") if job.attempt < 3 else None)
    await start(runners, database, kind, handler)
    await add(database, kind, f"{kind}:flaky")
    info = await settle_status(database, f"{kind}:flaky", JobStatus.done)
    assert [job.attempt for job in handler.calls] == [1, 2, 3]
    assert info.attempts == 3
    assert info.last_error == "ConnectionError: provider down"
    assert info.finished_at is not None
    assert info.lease_until is None


async def test_backoff_is_exponential_with_full_jitter(database: Database) -> None:
    runner = JobRunner(database, backoff_base=1.0, backoff_cap=300.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (5, 16.0), (12, 300.0)]:
        delays = [runner._backoff(attempt) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # spread over the whole range, not fixed


async def test_max_attempts_then_failed_with_last_error(
    database: Database, kind: str, runners: list[JobRunner]
) -> None:
    handler = Recorder(lambda job: ValueError(f"boom {job.attempt} " + "x" * 5000))
    await start(runners, database, kind, handler)
    await add(database, kind, f"{kind}:doomed", max_attempts=3)
    info = await settle_status(database, f"{kind}:doomed", JobStatus.failed)
    assert len(handler.calls) == 3
    assert info.attempts == 3
    assert info.last_error.startswith("ValueError: boom 3 ")
    assert len(info.last_error) == 2000
    assert info.finished_at is not None


async def test_permanent_failure_is_not_retried(
    database: Database, kind: str, runners: list[JobRunner]
) -> None:
    handler = Recorder(lambda _job: PermanentFailure("number is not on WhatsApp"))
    await start(runners, database, kind, handler)
    await add(database, kind, f"{kind}:permanent")
    info = await settle_status(database, f"{kind}:permanent", JobStatus.failed)
    assert len(handler.calls) == 1
    assert info.attempts == 1
    assert "number is not on WhatsApp" in info.last_error


async def test_retry_later_waits_the_given_delay(
    database: Database, kind: str, runners: list[JobRunner]
) -> None:
    handler = Recorder(lambda job: RetryLater(0.4, "rate limited") if job.attempt == 1 else None)
    await start(runners, database, kind, handler, backoff_base=100, backoff_cap=100)
    await add(database, kind, f"{kind}:later")
    info = await settle_status(database, f"{kind}:later", JobStatus.done)
    assert len(handler.calls) == 2
    assert handler.times[1] - handler.times[0] >= timedelta(seconds=0.4)
    assert info.last_error == "RetryLater: rate limited"


# --- scheduling ------------------------------------------------------------------------------


async def test_reschedule_debounces_and_the_job_runs_once_at_the_later_time(
    database: Database, kind: str, runners: list[JobRunner]
) -> None:
    key = f"{kind}:debounced"
    handler = Recorder()
    await start(runners, database, kind, handler)
    await add(database, kind, key, run_at=utcnow() + timedelta(seconds=0.3))
    latest = utcnow()
    for _ in range(3):
        await asyncio.sleep(0.1)
        latest = utcnow() + timedelta(seconds=0.4)
        async with database.unit_of_work() as session:
            assert await reschedule(session, key=key, run_at=latest)
    info = await settle_status(database, key, JobStatus.done)
    assert info.run_at == latest
    assert len(handler.calls) == 1
    assert handler.times[0] >= latest
    async with database.unit_of_work() as session:
        assert not await reschedule(session, key=key, run_at=utcnow())  # it is not pending


async def test_an_earlier_reschedule_wakes_the_runner(
    database: Database, kind: str, runners: list[JobRunner]
) -> None:
    key = f"{kind}:sooner"
    handler = Recorder()
    await start(runners, database, kind, handler, poll_seconds=3600)
    await add(database, kind, key, run_at=utcnow() + timedelta(hours=1))
    await asyncio.sleep(0.05)
    async with database.unit_of_work() as session:
        assert await reschedule(session, key=key, run_at=utcnow())
    await settle(lambda: len(handler.calls) == 1, timeout=5)


async def test_cancel_removes_a_pending_job(
    database: Database, kind: str, runners: list[JobRunner]
) -> None:
    key = f"{kind}:cancelled"
    await add(database, kind, key, run_at=utcnow() + timedelta(seconds=0.2))
    async with database.unit_of_work() as session:
        assert await cancel(session, key=key)
        assert not await cancel(session, key=key)
    handler = Recorder()
    await start(runners, database, kind, handler)
    await asyncio.sleep(0.4)
    assert handler.calls == []
    assert await status(database, key) is None
    assert await add(database, kind, key)  # the key is free again


# --- leases and several runners --------------------------------------------------------------


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
