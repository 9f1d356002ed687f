"""A process killed at any point loses no accepted message and stores none twice.

A "provider" delivers 150 messages and, like Evolution or Meta, retries every delivery that did
not get a 2xx. Mid-way the server is killed with SIGKILL (no shutdown, no cleanup) and a new
one starts on the same database. Deliveries committed just before the kill lose their answer
and are retried: each must still be stored exactly once, and announced exactly once.
"""

import asyncio
import json
from pathlib import Path

import httpx
from sqlalchemy import func, select

from atende.core.db import Database
from atende.core.events import Event
from atende.inbox.models import Message
from tests.support.server import Server, start_server, stop_server
from tests.support.tenants import sign_up
from tests.test_whatsapp_sandbox import paired_instance, webhook_secret

MESSAGES = 150


async def deliver_until_acknowledged(
    current: dict[str, Server],
    instance_id: int,
    secret: str,
    n: int,
    acked: list[int],
    refused: list[int],
) -> None:
    body = json.dumps({"from": f"+55119{n:08d}", "text": f"pedido {n}", "id": f"wamid-{n}"})
    while True:
        url = f"{current['server'].base_url}/webhooks/sandbox/{instance_id}"
        try:
            async with httpx.AsyncClient(timeout=5) as provider:
                reply = await provider.post(url, content=body, headers={"X-Atende-Secret": secret})
            if reply.status_code == 200:
                acked.append(n)
                return
        except httpx.HTTPError:
            refused.append(n)  # connection refused or reset: the server is down; retry
        await asyncio.sleep(0.05)


async def test_kill_mid_delivery_loses_nothing_and_doubles_nothing(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'atende.db'}"
    current = {"server": start_server(tmp_path, url)}
    try:
        owner = await sign_up(current["server"].base_url)
        instance = await paired_instance(owner)
        await owner.aclose()
        instance_id = int(str(instance["id"]))
        secret = await webhook_secret(current["server"], instance_id)
        acked: list[int] = []
        refused: list[int] = []
        gate = asyncio.Semaphore(16)

        async def one(n: int) -> None:
            async with gate:
                await deliver_until_acknowledged(current, instance_id, secret, n, acked, refused)

        deliveries = asyncio.gather(*(one(n) for n in range(MESSAGES)))
        while len(acked) < MESSAGES // 3:
            await asyncio.sleep(0.01)
        killed = current["server"]
        assert killed.process is not None
        killed.process.kill()  # SIGKILL: whatever was in flight is cut off
        killed.process.wait()
        current["server"] = await asyncio.to_thread(start_server, tmp_path, url)
        await asyncio.wait_for(deliveries, 120)
    finally:
        stop_server(current["server"])

    assert refused, "the kill interrupted no delivery: the test proved nothing"
    assert sorted(acked) == list(range(MESSAGES))
    database = Database(url)
    try:
        async with database.unit_of_work(write=False) as session:
            stored = await session.scalar(
                select(func.count(func.distinct(Message.provider_message_id))).where(
                    Message.instance_id == instance_id
                )
            )
            rows = await session.scalar(
                select(func.count()).select_from(Message).where(Message.instance_id == instance_id)
            )
            announced = await session.scalar(
                select(func.count()).select_from(Event).where(Event.type == "message.created")
            )
    finally:
        await database.dispose()
    assert stored == rows == MESSAGES
    assert announced == MESSAGES
