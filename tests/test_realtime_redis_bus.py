"""The Redis event bus on its own: wake-ups cross processes once, locals never wait for Redis,
malformed messages are ignored, and a (re)subscription asks for a full re-read."""

import asyncio
import secrets

import pytest
import redis.asyncio as redis

from atende.realtime.redis_bus import RedisBus
from tests.conftest import require_service

pytestmark = pytest.mark.redis
URL = "redis://127.0.0.1:6379/0"


CHANNEL = f"atende:test:{secrets.token_hex(4)}"  # runs elsewhere publish on the real one


async def started(seen: list[dict[int, int] | None]) -> RedisBus:
    bus = RedisBus(URL, channel=CHANNEL, resync_seconds=3600)
    bus.subscribe(seen.append)
    await bus.start()
    return bus


async def wait_for(condition: object, seen: list[dict[int, int] | None]) -> None:
    for _ in range(100):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened; saw {seen}")


async def test_announcements_reach_the_other_process_once_and_locals_at_once() -> None:
    require_service("Redis", "127.0.0.1", 6379)
    seen_a: list[dict[int, int] | None] = []
    seen_b: list[dict[int, int] | None] = []
    a, b = await started(seen_a), await started(seen_b)
    try:
        await wait_for(lambda: None in seen_a and None in seen_b, seen_b)  # subscribed
        seen_a.clear()
        seen_b.clear()
        a.publish({7: 41})
        a.publish({7: 42, 9: 3})
        await asyncio.sleep(0)  # the commit hook's call_soon
        assert seen_a == [{7: 41}, {7: 42, 9: 3}]  # locally, before any Redis round trip
        await wait_for(lambda: seen_b, seen_b)
        await asyncio.sleep(0.2)
        merged: dict[int, int] = {}
        for pending in seen_b:
            assert pending is not None
            merged.update(pending)
        assert merged == {7: 42, 9: 3}
        assert len(seen_a) == 2  # its own message, back from Redis, is not delivered again
    finally:
        await a.stop()
        await b.stop()


async def test_malformed_messages_are_ignored() -> None:
    require_service("Redis", "127.0.0.1", 6379)
    seen: list[dict[int, int] | None] = []
    bus = await started(seen)
    client = redis.Redis.from_url(URL)
    try:
        await wait_for(lambda: None in seen, seen)
        seen.clear()
        for junk in ("not json", '{"origin": "x"}', '{"origin": "x", "pending": {"a": 1}}', "[]"):
            await client.publish(CHANNEL, junk)
        await client.publish(CHANNEL, '{"origin": "x", "pending": {"5": 6}}')
        await wait_for(lambda: seen, seen)
        assert seen == [{5: 6}]
    finally:
        await client.aclose()
        await bus.stop()
