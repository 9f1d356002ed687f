"""Concurrent writers: no 'database is locked', and event sequences without gaps or repeats."""

import asyncio

from tests.support.server import Server
from tests.support.sse import iter_events
from tests.support.tenants import Tenant, add_member, sign_up

WRITERS = 24


async def test_concurrent_sign_ups_all_succeed(server: Server) -> None:
    tenants = await asyncio.gather(*(sign_up(server.base_url) for _ in range(12)))
    assert len({t.org_id for t in tenants}) == 12
    for tenant in tenants:
        await tenant.aclose()


async def test_concurrent_events_get_contiguous_sequence_numbers(
    server: Server, tenant: Tenant
) -> None:
    _client, user_id = await add_member(tenant, server.base_url, "operator")
    async with tenant.client.stream("GET", "/api/v1/events") as response:
        events = iter_events(response)

        async def change(n: int) -> int:
            role = "admin" if n % 2 else "operator"
            reply = await tenant.client.patch(f"/api/v1/members/{user_id}", json={"role": role})
            return reply.status_code

        statuses = await asyncio.gather(*(change(n) for n in range(WRITERS)))
        received = [await asyncio.wait_for(anext(events), 10) for _ in range(WRITERS)]
    assert statuses == [204] * WRITERS
    seqs = [int(event.id or 0) for event in received]
    # Delivered in order, each once, with no gap: the stream is the commit order.
    assert seqs == list(range(seqs[0], seqs[0] + WRITERS))
