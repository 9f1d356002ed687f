"""The intake's writer: inbound messages funnelled into batched transactions.

SQLite (embedded mode): whatever is waiting is written in one transaction, on one thread with
its own connection, then committed once; each caller's answer waits for that commit. Per
message that is a handful of statements without a thread hop or ORM bookkeeping in between,
and one commit for the batch. It queues on the same writer lock as every other transaction.
PostgreSQL: each message in its own short transaction (the server handles concurrency).
"""

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from atende.core.db import Database, sqlite_connection_setup
from atende.core.errors import NotFound
from atende.core.events import EventPayload, append_events
from atende.core.jobs import wake_runners
from atende.inbox.inbound import InboundInput, Stored, StoredMessage, inbound_steps
from atende.inbox.service import record_inbound

log = logging.getLogger("atende.inbox.writer")
MAX_BATCH = 256


@dataclass(frozen=True, slots=True)
class _Item:
    org_id: int
    instance_id: int
    inbound: InboundInput
    done: "asyncio.Future[StoredMessage | None]" = field(compare=False)


class InboundWriter:
    def __init__(self, database: Database, *, max_batch: int = MAX_BATCH) -> None:
        self._database = database
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._engine: Engine | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="atende-intake")

    async def start(self) -> None:
        if self._database.is_sqlite:
            self._engine = create_engine(
                self._database.sqlite_sync_url,
                poolclass=StaticPool,
                connect_args={"check_same_thread": False, "timeout": 30},
            )
            event.listen(self._engine, "connect", sqlite_connection_setup)
            event.listen(
                self._engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE")
            )
            self._task = asyncio.create_task(self._run(), name="inbound-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._engine is not None:
            await asyncio.get_running_loop().run_in_executor(self._thread, self._engine.dispose)
        self._thread.shutdown(wait=True)

    async def store(
        self, *, org_id: int, instance_id: int, inbound: InboundInput
    ) -> StoredMessage | None:
        """Stores the message once (None if it was already stored); returns after commit."""
        if self._task is None:
            try:
                async with self._database.unit_of_work() as session:
                    return await record_inbound(
                        session, org_id=org_id, instance_id=instance_id, inbound=inbound
                    )
            except IntegrityError as exc:  # the instance was deleted meanwhile
                raise NotFound("Unknown instance.") from exc
        done: asyncio.Future[StoredMessage | None] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Item(org_id, instance_id, inbound, done))
        return await done

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            async with self._database.sqlite_writer_lock:
                try:
                    outcomes = await loop.run_in_executor(self._thread, self._write, batch)
                except Exception:
                    # One bad message must not fail the others: write them one by one.
                    log.exception("batch write failed; writing its messages one by one")
                    outcomes = [
                        await loop.run_in_executor(self._thread, self._write_one, item)
                        for item in batch
                    ]
            pending: dict[int, int] = {}
            count = 0
            wrote_jobs = False
            for item, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    item.done.set_exception(outcome)
                    continue
                stored, last_seq = outcome
                wrote_jobs = wrote_jobs or bool(stored and stored.wrote_job)
                if last_seq:
                    pending[item.org_id] = max(pending.get(item.org_id, 0), last_seq)
                    count += len(stored.events) if stored else 0
                item.done.set_result(stored.message if stored else None)
            if pending:
                self._database.announce_committed(pending, count)
            if wrote_jobs:
                wake_runners(self._database)

    def _write(self, batch: list[_Item]) -> list[Any]:
        """On the writer thread: the whole batch in one transaction."""
        assert self._engine is not None
        with self._engine.begin() as conn:
            stored = [_run_steps(conn, item) for item in batch]
            events: dict[int, list[EventPayload]] = {}
            for item, result in zip(batch, stored, strict=True):
                if result is not None:
                    events.setdefault(item.org_id, []).extend(result.events)
            last = {org: append_events(conn, org_id=org, payloads=p) for org, p in events.items()}
        return [
            (result, last.get(item.org_id, 0)) for item, result in zip(batch, stored, strict=True)
        ]

    def _write_one(self, item: _Item) -> Any:
        try:
            return self._write([item])[0]
        except IntegrityError as exc:  # e.g. the instance was deleted meanwhile
            return NotFound("Unknown instance.") if "FOREIGN KEY" in str(exc) else exc
        except Exception as exc:
            return exc


def _run_steps(conn: Connection, item: _Item) -> Stored | None:
    steps = inbound_steps("sqlite", item.org_id, item.instance_id, item.inbound)
    try:
        statement, params = next(steps)
        while True:
            statement, params = steps.send(conn.execute(statement, params))
    except StopIteration as done:
        result: Stored | None = done.value
        return result
