"""Migrations go up, down and up again, and leave exactly the schema the models describe."""

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from atende.core.db import Base
from atende.core.migrate import downgrade, include_name, upgrade
from atende.models_registry import import_all_models
from tests.conftest import require_service
from tests.support.server import create_pg_database, drop_pg_database

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An async SQLAlchemy URL of an empty database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    require_service("PostgreSQL", "127.0.0.1", 5432)
    name, url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(name)


def tables(url: str) -> set[str]:
    return _inspect(url, lambda conn: set(inspect(conn).get_table_names()))


def schema_differences(url: str) -> list[object]:
    import_all_models()

    def diff(conn: Connection) -> list[object]:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": include_name}
        )
        return list(compare_metadata(context, Base.metadata))

    return _inspect(url, diff)


T = TypeVar("T")


def _inspect(url: str, fn: Callable[[Connection], T]) -> T:
    """Runs a synchronous inspection on an async engine (the only drivers installed)."""

    async def run() -> T:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(fn)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_upgrade_downgrade_upgrade(fresh_url: str) -> None:
    upgrade(fresh_url)
    import_all_models()
    expected = set(Base.metadata.tables)
    assert tables(fresh_url) >= expected
    assert schema_differences(fresh_url) == []

    downgrade(fresh_url, "base")
    assert tables(fresh_url) <= {"alembic_version"}

    upgrade(fresh_url)
    assert tables(fresh_url) >= expected
    assert schema_differences(fresh_url) == []
    upgrade(fresh_url)  # at head already: a no-op, not an error


def test_the_comparison_can_fail(fresh_url: str) -> None:
    """The schema check above would notice a table the migrations forgot."""
    upgrade(fresh_url)
    downgrade(fresh_url, "base")
    differences = schema_differences(fresh_url)
    assert any(d[0] == "add_table" for d in differences if isinstance(d, tuple))  # type: ignore[index]
