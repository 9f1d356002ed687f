"""The event bus between processes: Redis pub/sub carrying {org_id: highest seq} wake-ups.

Local subscribers are woken at once (no round trip through Redis for this process's own
events); other processes get the announcement through the channel. Pub/sub delivers at most
once and nothing while a subscriber is disconnected, so the bus never carries the events
themselves (they are in the database) and, after a reconnect and every `resync_seconds`, it
wakes its subscribers with `None`: "something may have been missed, look at everything".
"""

import asyncio
import contextlib
import json
import logging
import os
import secrets
from typing import Any

import redis.asyncio as redis

from atende.realtime.bus import WakeUp

log = logging.getLogger("atende.realtime")

CHANNEL = "atende:events"


class RedisBus:
    def __init__(self, url: str, *, channel: str = CHANNEL, resync_seconds: float = 5.0) -> None:
        self._url = url
        self._channel = channel
        self._resync_seconds = resync_seconds
        self._origin = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._subscribers: list[WakeUp] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outbox: dict[int, int] = {}
        self._has_outbox = asyncio.Event()
        self._client: redis.Redis | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def publish(self, pending: dict[int, int]) -> None:
        """From the commit hook, on any thread: never blocks, never raises."""
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(self._announce, dict(pending))

    def subscribe(self, callback: WakeUp) -> None:
        self._subscribers.append(callback)

    def _announce(self, pending: dict[int, int]) -> None:
        self._wake_local(pending)
        for org_id, seq in pending.items():
            self._outbox[org_id] = max(seq, self._outbox.get(org_id, 0))
        self._has_outbox.set()

    def _wake_local(self, pending: dict[int, int] | None) -> None:
        for callback in self._subscribers:
            try:
                callback(pending)
            except Exception:
                log.exception("event bus subscriber failed")

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._client = redis.Redis.from_url(self._url, socket_connect_timeout=5)
        self._tasks = [
            asyncio.create_task(self._publish_loop(), name="bus-publish"),
            asyncio.create_task(self._listen_loop(), name="bus-listen"),
            asyncio.create_task(self._resync_loop(), name="bus-resync"),
        ]

    async def stop(self) -> None:
        self._loop = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _publish_loop(self) -> None:
        assert self._client is not None
        while True:
            await self._has_outbox.wait()
            self._has_outbox.clear()
            # Everything announced meanwhile goes in one message: bursts cost one PUBLISH.
            pending, self._outbox = self._outbox, {}
            message = json.dumps({"origin": self._origin, "pending": pending})
            try:
                await self._client.publish(self._channel, message)
            except (redis.RedisError, OSError) as exc:
                # Others catch up at their next resync; local clients were woken already.
                log.warning("event bus publish failed", extra={"error": repr(exc)})
                await asyncio.sleep(0.5)

    async def _listen_loop(self) -> None:
        assert self._client is not None
        delay = 0.2
        while True:
            try:
                async with self._client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    delay = 0.2
                    self._wake_local(None)  # whatever was announced while we were away
                    async for message in pubsub.listen():
                        self._receive(message)
            except asyncio.CancelledError:
                raise
            except (redis.RedisError, OSError) as exc:
                log.warning("event bus disconnected; reconnecting", extra={"error": repr(exc)})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _receive(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(ValueError, TypeError, KeyError, AttributeError):
            body = json.loads(message["data"])
            if body["origin"] == self._origin:
                return  # woken locally already
            pending = {int(org): int(seq) for org, seq in body["pending"].items()}
            self._wake_local(pending)
            return
        log.warning("event bus: ignored a malformed message")

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(self._resync_seconds)
            self._wake_local(None)
