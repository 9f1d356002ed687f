"""Shared fixtures: real servers on loopback against SQLite and PostgreSQL."""

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.fake_web import FakeWeb
from tests.support.outbound import loopback_server
from tests.support.server import (
    Server,
    create_pg_database,
    drop_pg_database,
    service_available,
    start_server,
    stop_server,
)
from tests.support.tenants import Tenant, sign_up

IN_CI = os.environ.get("CI", "").lower() == "true"


def require_service(name: str, host: str, port: int) -> None:
    """Skips when a service is missing on a developer machine; in CI that is a failure."""
    if service_available(host, port):
        return
    if IN_CI:
        pytest.fail(f"{name} on {host}:{port} is required in CI (CI=true) but is not reachable")
    pytest.skip(f"{name} is not running on {host}:{port}")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        require_service("PostgreSQL", "127.0.0.1", 5432)
    return str(request.param)


@pytest.fixture(scope="session")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per backend for the whole run; tests isolate themselves by organisation."""
    data_dir = tmp_path_factory.mktemp(f"server-{backend}")
    pg_name = None
    if backend == "postgresql":
        pg_name, url = create_pg_database()
    else:
        url = f"sqlite+aiosqlite:///{data_dir / 'atende.db'}"
    srv = start_server(data_dir, url)
    yield srv
    stop_server(srv)
    if pg_name:
        drop_pg_database(pg_name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'atende.db'}"


@pytest.fixture
async def tenant(server: Server) -> AsyncIterator[Tenant]:
    owner = await sign_up(server.base_url)
    yield owner
    await owner.aclose()


@pytest.fixture
async def other_tenant(server: Server) -> AsyncIterator[Tenant]:
    owner = await sign_up(server.base_url, organisation="Other Co")
    yield owner
    await owner.aclose()


@pytest.fixture(scope="session")
def open_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose web pages and HTTP tools may reach loopback, where the fakes listen."""
    with loopback_server(backend, tmp_path_factory) as srv:
        yield srv


@pytest.fixture
async def web() -> AsyncIterator[FakeWeb]:
    """A small web site on loopback (pages, redirects, slow and huge answers)."""
    async with FakeWeb() as site:
        yield site
