"""Fixtures of the job runner tests: a migrated database per backend, a job kind per test
(so runners of one test never claim another's jobs), runners stopped at the end."""

import secrets
from collections.abc import AsyncIterator, Iterator

import pytest

from atende.core.db import Database
from atende.core.jobs_runner import JobRunner
from atende.core.migrate import upgrade
from tests.conftest import require_service
from tests.support.server import create_pg_database, drop_pg_database


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
