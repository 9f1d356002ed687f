"""Two web processes on one PostgreSQL database joined by the Redis event bus (SPEC §7, §10):
an event committed on one process reaches the live streams held by the other."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.conftest import require_service
from tests.support.server import (
    Server,
    create_pg_database,
    drop_pg_database,
    start_server,
    stop_server,
)
from tests.support.sse import SseEvent, iter_events
from tests.support.tenants import add_member, session_client, sign_up

pytestmark = pytest.mark.redis
REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("Redis", "127.0.0.1", 6379)
    name, url = create_pg_database()
    root: Path = tmp_path_factory.mktemp("cluster")
    first = start_server(root / "web-1", url, event_bus_url=REDIS)
    second = start_server(root / "web-2", url, event_bus_url=REDIS)
    yield first, second
    stop_server(first)
    stop_server(second)
    drop_pg_database(name)


async def test_an_event_on_one_process_reaches_streams_on_the_other(
    cluster: tuple[Server, Server],
) -> None:
    first, second = cluster
    tenant = await sign_up(first.base_url)
    watcher = session_client(second.base_url)
    watcher.cookies = tenant.client.cookies  # one session, valid on every process
    try:
        async with watcher.stream("GET", "/api/v1/events") as response:
            assert response.status_code == 200
            events = iter_events(response)
            _member, user_id = await add_member(tenant, first.base_url, "operator")
            event = await asyncio.wait_for(anext(events), timeout=10)
    finally:
        await watcher.aclose()
        await tenant.aclose()
    assert event.event == "member.joined"
    assert event.json["data"]["user_id"] == user_id


async def test_streams_on_both_processes_get_every_event_once_in_order(
    cluster: tuple[Server, Server],
) -> None:
    first, second = cluster
    tenant = await sign_up(second.base_url)
    watcher = session_client(first.base_url)
    watcher.cookies = tenant.client.cookies
    try:
        async with (
            watcher.stream("GET", "/api/v1/events") as on_first,
            tenant.client.stream("GET", "/api/v1/events") as on_second,
        ):
            first_events, second_events = iter_events(on_first), iter_events(on_second)
            # Changes made on both processes, alternately.
            for index in range(4):
                base = (first if index % 2 else second).base_url
                await add_member(tenant, base, "operator")

            async def take(stream: AsyncIterator[SseEvent]) -> list[int]:
                return [int((await anext(stream)).json["seq"]) for _ in range(4)]

            seen_first = await asyncio.wait_for(take(first_events), timeout=10)
            seen_second = await asyncio.wait_for(take(second_events), timeout=10)
    finally:
        await watcher.aclose()
        await tenant.aclose()
    assert seen_first == seen_second
    assert seen_first == sorted(set(seen_first))
