"""Retention: old events are purged; a client resuming from before them is told to reset."""

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, func, select, update

from atende.core import accounts
from atende.core.db import Database, utcnow
from atende.core.events import Event, MemberUpdated, record_event
from atende.core.idempotency import IdempotencyRecord, claim, purge_expired
from atende.core.migrate import upgrade
from atende.core.models import Role
from atende.realtime.retention import purge_events
from tests.support.server import Server
from tests.support.sse import iter_events
from tests.support.tenants import Tenant, add_member


async def test_purge_removes_only_events_older_than_retention(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'retention.db'}"
    await asyncio.to_thread(upgrade, url)
    database = Database(url)
    try:
        async with database.unit_of_work() as session:
            org = await accounts.create_organisation(session, name="Old")
            for n in range(3):
                await record_event(
                    session, org_id=org.id, payload=MemberUpdated(user_id=n, role=Role.admin)
                )
        async with database.unit_of_work() as session:
            await session.execute(
                update(Event).where(Event.seq < 3).values(created_at=utcnow() - timedelta(hours=30))
            )
        removed = await purge_events(database, retention=timedelta(hours=24))
        async with database.unit_of_work(write=False) as session:
            left = list(await session.scalars(select(Event.seq)))
        assert removed == 2
        assert left == [3]
    finally:
        await database.dispose()


async def test_resume_from_purged_events_sends_reset(server: Server, tenant: Tenant) -> None:
    _client, user_id = await add_member(tenant, server.base_url, "operator")
    for role in ("admin", "operator"):
        await tenant.client.patch(f"/api/v1/members/{user_id}", json={"role": role})
    database = Database(server.database_url)
    try:
        async with database.unit_of_work() as session:
            await session.execute(
                delete(Event).where(Event.org_id == tenant.org_id, Event.seq <= 2)
            )
            newest = await session.scalar(
                select(func.max(Event.seq)).where(Event.org_id == tenant.org_id)
            )
    finally:
        await database.dispose()
    headers = {"Last-Event-ID": "1"}
    async with tenant.client.stream("GET", "/api/v1/events", headers=headers) as response:
        events = iter_events(response)
        reset = await asyncio.wait_for(anext(events), 10)
        await tenant.client.patch(f"/api/v1/members/{user_id}", json={"role": "admin"})
        live = await asyncio.wait_for(anext(events), 10)
    assert reset.event == "reset"
    assert reset.id == str(newest)
    assert live.event == "member.updated"
    assert int(live.id or 0) == (newest or 0) + 1


async def test_idempotency_keys_are_kept_a_day(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}"
    await asyncio.to_thread(upgrade, url)
    database = Database(url)
    try:
        async with database.unit_of_work() as session:
            org = await accounts.create_organisation(session, name="Keys")
            old = await claim(session, org_id=org.id, key="old", print_="a")
            await claim(session, org_id=org.id, key="new", print_="b")
            record = await session.get(IdempotencyRecord, old.record_id)
            assert record is not None
            record.created_at = utcnow() - timedelta(hours=25)
        async with database.unit_of_work() as session:
            await purge_expired(session)
        async with database.unit_of_work(write=False) as session:
            keys = list(await session.scalars(select(IdempotencyRecord.key)))
        assert keys == ["new"]
    finally:
        await database.dispose()
