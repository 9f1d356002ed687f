"""The hub's fan-out, in process: catch-up then live, ordering, slow clients dropped."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from atende.core import accounts
from atende.core.db import Database
from atende.core.events import MemberUpdated, record_event
from atende.core.metrics import Metrics
from atende.core.migrate import upgrade
from atende.core.models import Role
from atende.realtime.bus import InProcessBus
from atende.realtime.hub import Client, Hub


class FakeConnection:
    """Plays uvicorn's `send`: writes synchronously unless writing is paused."""

    def __init__(self) -> None:
        self.paused = False
        self.bodies: list[bytes] = []
        self.finished = False

    async def send(self, message: dict[str, Any]) -> None:
        if self.paused:
            await asyncio.get_running_loop().create_future()  # waits for a drain that never comes
        self.bodies.append(message["body"])
        if not message.get("more_body", False):
            self.finished = True

    @property
    def seqs(self) -> list[int]:
        return [int(b.split(b"\n", 1)[0][4:]) for b in self.bodies if b.startswith(b"id: ")]


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    yield db
    await db.dispose()


@pytest.fixture
async def hub(database: Database) -> AsyncIterator[tuple[Hub, Metrics, int]]:
    metrics = Metrics()
    bus = InProcessBus()
    hub = Hub(database, metrics, heartbeat_seconds=3600)
    database.add_commit_listener(lambda pending, _count: bus.publish(pending))
    bus.subscribe(hub.on_published)
    await bus.start()
    await hub.start()
    async with database.unit_of_work() as session:
        org = await accounts.create_organisation(session, name="Hub test")
        org_id = org.id
    yield hub, metrics, org_id
    await hub.stop()


async def emit(database: Database, org_id: int, count: int) -> None:
    for n in range(count):
        async with database.unit_of_work() as session:
            await record_event(
                session, org_id=org_id, payload=MemberUpdated(user_id=n, role=Role.admin)
            )


async def settle(predicate: Any, timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def make_client(org_id: int, conn: FakeConnection, last_seq: int, task: Any = None) -> Client:
    return Client(
        org_id=org_id, role=Role.owner, user_id=1, send=conn.send, task=task, last_seq=last_seq
    )


async def test_catch_up_then_live_in_order(database: Database, hub: Any) -> None:
    hub_, _metrics, org_id = hub
    await emit(database, org_id, 5)
    conn = FakeConnection()
    hub_.add(make_client(org_id, conn, last_seq=2))
    await emit(database, org_id, 3)
    await settle(lambda: len(conn.seqs) == 6)
    assert conn.seqs == [3, 4, 5, 6, 7, 8]


async def test_slow_client_is_dropped_others_unaffected(database: Database, hub: Any) -> None:
    hub_, metrics, org_id = hub
    fast, slow = FakeConnection(), FakeConnection()
    waiter = asyncio.create_task(asyncio.sleep(3600))
    hub_.add(make_client(org_id, fast, last_seq=0))
    hub_.add(make_client(org_id, slow, last_seq=0, task=waiter))
    await emit(database, org_id, 1)
    await settle(lambda: len(fast.seqs) == 1 and len(slow.seqs) == 1)
    slow.paused = True
    await emit(database, org_id, 3)
    await settle(lambda: len(fast.seqs) == 4)
    await settle(waiter.cancelled)
    assert slow.seqs == [1]
    assert fast.seqs == [1, 2, 3, 4]
    assert metrics.sse_dropped._value.get() == 1
    assert hub_.client_count == 1


async def test_other_organisations_events_are_not_delivered(database: Database, hub: Any) -> None:
    hub_, _metrics, org_id = hub
    async with database.unit_of_work() as session:
        other = (await accounts.create_organisation(session, name="Other")).id
    conn = FakeConnection()
    hub_.add(make_client(org_id, conn, last_seq=0))
    await emit(database, other, 2)
    await emit(database, org_id, 1)
    await settle(lambda: len(conn.seqs) == 1)
    await asyncio.sleep(0.05)
    assert conn.seqs == [1]


async def test_finish_all_ends_streams(database: Database, hub: Any) -> None:
    hub_, _metrics, org_id = hub
    conn = FakeConnection()
    hub_.add(make_client(org_id, conn, last_seq=0))
    await settle(lambda: hub_.client_count == 1)
    hub_.finish_all()
    assert conn.finished


async def test_heartbeats_reach_idle_clients(database: Database) -> None:
    hub = Hub(database, Metrics(), heartbeat_seconds=0.02)
    await hub.start()
    try:
        async with database.unit_of_work() as session:
            org_id = (await accounts.create_organisation(session, name="Quiet")).id
        conn = FakeConnection()
        hub.add(make_client(org_id, conn, last_seq=0))
        await settle(lambda: conn.bodies.count(b": heartbeat\n\n") >= 2)
        assert conn.seqs == []
    finally:
        await hub.stop()
