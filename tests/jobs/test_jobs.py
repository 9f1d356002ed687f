"""Durable jobs: enqueue in the caller's transaction, retries and backoff, debounce, cancel."""

import asyncio
from datetime import timedelta

import pytest

from atende.core import accounts
from atende.core.db import Database, utcnow
from atende.core.jobs import (
    JobStatus,
    PermanentFailure,
    RetryLater,
    cancel,
    enqueue,
    reschedule,
)
from atende.core.jobs_runner import JobRunner
from tests.jobs.helpers import Recorder, add, settle, settle_status, start, status

pytestmark = pytest.mark.timeout(60)

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
