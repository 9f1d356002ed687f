"""Each number sends at most `ATENDE_SEND_RATE_LIMIT` messages; the rest wait their turn."""

import asyncio
from pathlib import Path

from tests.support.server import start_server, stop_server
from tests.support.tenants import sign_up
from tests.test_inbox_api import conversation_with_customer


async def test_sends_beyond_the_rate_wait_instead_of_going_out(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'atende.db'}"
    server = await asyncio.to_thread(start_server, tmp_path, url, send_rate_limit="2/minute")
    try:
        owner = await sign_up(server.base_url)
        _instance, conversation_id = await conversation_with_customer(owner)
        messages = f"/api/v1/conversations/{conversation_id}/messages"
        for n in range(3):
            reply = await owner.client.post(messages, json={"text": f"mensagem {n}"})
            assert reply.status_code == 202
        statuses: list[str] = []
        for _ in range(100):
            items = (await owner.client.get(messages)).json()["items"]
            statuses = sorted(m["status"] for m in items if m["direction"] == "out")
            if statuses.count("sent") == 2:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)  # the third must still be waiting, not sent
        items = (await owner.client.get(messages)).json()["items"]
        statuses = sorted(m["status"] for m in items if m["direction"] == "out")
        await owner.aclose()
    finally:
        stop_server(server)
    assert statuses == ["queued", "sent", "sent"]
