"""The transactional outbox (atende/core/events.py) on a real migrated database."""

import asyncio
import types
import typing
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pydantic
import pytest
from sqlalchemy import func, select

from atende.core.accounts import create_organisation
from atende.core.db import Database
from atende.core.events import (
    EVENT_SCHEMAS,
    Event,
    EventCounter,
    EventPayload,
    MemberRemoved,
    MemberUpdated,
    record_event,
)
from atende.core.migrate import upgrade
from atende.models_registry import import_all_models
from tests.conftest import require_service
from tests.support.server import create_pg_database, drop_pg_database

Announcement = tuple[dict[int, int], int]


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    pg_name = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'events.db'}"
    else:
        require_service("PostgreSQL", "127.0.0.1", 5432)
        pg_name, url = await asyncio.to_thread(create_pg_database)
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    try:
        yield db
    finally:
        await db.dispose()
        if pg_name:
            await asyncio.to_thread(drop_pg_database, pg_name)


def listen(database: Database) -> list[Announcement]:
    heard: list[Announcement] = []
    database.add_commit_listener(lambda pending, count: heard.append((dict(pending), count)))
    return heard


async def new_org(database: Database, name: str = "Org") -> int:
    async with database.unit_of_work() as session:
        return (await create_organisation(session, name=name)).id


async def events_of(database: Database, org_id: int) -> list[tuple[int, str, dict[str, Any]]]:
    async with database.unit_of_work(write=False) as session:
        rows = await session.execute(
            select(Event.seq, Event.type, Event.payload)
            .where(Event.org_id == org_id)
            .order_by(Event.seq)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_an_event_commits_with_its_transaction_and_is_announced_after(
    database: Database,
) -> None:
    org = await new_org(database)
    heard = listen(database)
    async with database.unit_of_work() as session:
        seq = await record_event(session, org_id=org, payload=MemberRemoved(user_id=7))
        assert heard == []  # not before the commit
    assert seq == 1
    assert heard == [({org: 1}, 1)]
    assert await events_of(database, org) == [(1, "member.removed", {"user_id": 7})]


async def test_a_rolled_back_event_leaves_no_row_and_no_announcement(database: Database) -> None:
    org = await new_org(database)
    heard = listen(database)

    async def failing_request() -> None:
        async with database.unit_of_work() as session:
            await record_event(session, org_id=org, payload=MemberRemoved(user_id=1))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await failing_request()
    assert heard == []
    assert await events_of(database, org) == []
    # The next transaction's event announces only itself and reuses nothing stale.
    async with database.unit_of_work() as session:
        seq = await record_event(session, org_id=org, payload=MemberRemoved(user_id=2))
    assert seq == 1
    assert heard == [({org: 1}, 1)]


async def test_sequences_are_per_organisation(database: Database) -> None:
    org_a, org_b = await new_org(database, "A"), await new_org(database, "B")
    heard = listen(database)
    seqs: dict[int, list[int]] = {org_a: [], org_b: []}
    async with database.unit_of_work() as session:
        for org in (org_a, org_b, org_a, org_a, org_b):
            seqs[org].append(
                await record_event(session, org_id=org, payload=MemberUpdated(user_id=1, role="x"))
            )
    assert heard == [({org_a: 3, org_b: 2}, 5)]
    async with database.unit_of_work() as session:
        seqs[org_b].append(
            await record_event(session, org_id=org_b, payload=MemberRemoved(user_id=1))
        )
    assert seqs == {org_a: [1, 2, 3], org_b: [1, 2, 3]}
    assert [e[0] for e in await events_of(database, org_a)] == [1, 2, 3]
    assert [e[0] for e in await events_of(database, org_b)] == [1, 2, 3]


async def test_an_organisation_without_a_counter_starts_at_one(database: Database) -> None:
    org = await new_org(database)
    async with database.unit_of_work() as session:
        await session.execute(EventCounter.__table__.delete().where(EventCounter.org_id == org))
    async with database.unit_of_work() as session:
        first = await record_event(session, org_id=org, payload=MemberRemoved(user_id=1))
        second = await record_event(session, org_id=org, payload=MemberRemoved(user_id=2))
    assert (first, second) == (1, 2)


async def test_concurrent_writers_get_distinct_sequence_numbers(database: Database) -> None:
    org = await new_org(database)

    async def one(user_id: int) -> int:
        async with database.unit_of_work() as session:
            return await record_event(session, org_id=org, payload=MemberRemoved(user_id=user_id))

    seqs = await asyncio.gather(*(one(i) for i in range(8)))
    assert sorted(seqs) == list(range(1, 9))
    async with database.unit_of_work(write=False) as session:
        count = await session.scalar(
            select(func.count()).select_from(Event).where(Event.org_id == org)
        )
    assert count == 8


async def test_unregistered_event_types_are_refused(database: Database) -> None:
    class Stray(EventPayload):
        event_type: ClassVar[str] = "stray.thing"

    org = await new_org(database)
    async with database.unit_of_work() as session:
        with pytest.raises(ValueError, match="unregistered"):
            await record_event(session, org_id=org, payload=Stray())


# --- schemas --------------------------------------------------------------------------------------


def sample_value(annotation: Any) -> Any:
    """A plausible value for a field's type (extend when schemas use new types)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return sample_value(next(a for a in typing.get_args(annotation) if a is not type(None)))
    if origin is typing.Literal:
        return typing.get_args(annotation)[0]
    if origin in (list, tuple, set, frozenset):
        return []
    if origin is dict:
        return {}
    samples: dict[Any, Any] = {int: 1, str: "text", bool: True, float: 1.5}
    if annotation in samples:
        return samples[annotation]
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return {n: sample_value(f.annotation) for n, f in annotation.model_fields.items()}
    if isinstance(annotation, type) and hasattr(annotation, "__members__"):  # an Enum
        return next(iter(annotation.__members__.values())).value
    if annotation.__module__ == "datetime":
        return "2026-01-01T00:00:00+00:00"
    raise AssertionError(f"add a sample for {annotation!r} in tests/test_core_events.py")


def test_every_event_schema_validates_a_sample_and_rejects_unknown_fields() -> None:
    import_all_models()
    assert {"member.joined", "member.updated", "member.removed"} <= set(EVENT_SCHEMAS)
    for event_type, schema in EVENT_SCHEMAS.items():
        assert schema.event_type == event_type
        sample = {n: sample_value(f.annotation) for n, f in schema.model_fields.items()}
        event = schema.model_validate(sample)
        assert schema.model_validate(event.model_dump(mode="json")) == event
        with pytest.raises(pydantic.ValidationError, match="extra"):
            schema.model_validate({**sample, "unexpected_field": 1})
        required = [n for n, f in schema.model_fields.items() if f.is_required()]
        if required:
            with pytest.raises(pydantic.ValidationError):
                schema.model_validate({k: v for k, v in sample.items() if k != required[0]})
