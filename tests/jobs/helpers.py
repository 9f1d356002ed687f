"""Helpers of the job runner tests."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from atende.core.db import Database, utcnow
from atende.core.jobs import (
    Job,
    JobStatus,
    enqueue,
    job_status,
)
from atende.core.jobs_runner import JobRunner

FAST = {"poll_seconds": 0.2, "backoff_base": 0.01, "backoff_cap": 0.05}


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
