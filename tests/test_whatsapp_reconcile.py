"""After a restart, each external number's status is asked again from the provider."""

import asyncio
from pathlib import Path

from tests.support.fake_evolution import FakeEvolution
from tests.support.server import start_server, stop_server
from tests.support.tenants import sign_in, sign_up
from tests.test_whatsapp_evolution_e2e import NAME, Number


async def test_status_is_reconciled_with_the_provider_on_start(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'atende.db'}"
    async with FakeEvolution() as evolution:
        server = await asyncio.to_thread(start_server, tmp_path, url)
        try:
            owner = await sign_up(server.base_url)
            number = Number(server, owner, evolution)
            await number.pair()
            await number.fixture("connection-update-open.json")
            evolution.states[NAME] = "open"
            state = (await owner.client.get(f"/api/v1/instances/{number.id}")).json()
            assert state["status"] == "connected"
            email = owner.email
            await owner.aclose()
        finally:
            stop_server(server)
        # While Atende was down, the phone was logged out on Evolution's side.
        evolution.states[NAME] = "close"
        server = await asyncio.to_thread(start_server, tmp_path, url)
        try:
            client = await sign_in(server.base_url, email)
            status = ""
            for _ in range(100):
                reply = await client.get(f"/api/v1/instances/{number.id}")
                status = reply.json()["status"]
                if status == "disconnected":
                    break
                await asyncio.sleep(0.1)
            await client.aclose()
        finally:
            stop_server(server)
    assert status == "disconnected"
    asked = [r for r in evolution.requests if r.path == f"/instance/connectionState/{NAME}"]
    assert len(asked) == 1
