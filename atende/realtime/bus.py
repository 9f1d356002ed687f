"""The event bus: after a commit, tells every process which organisations have new events.

The bus is only a wake-up call carrying {org_id: highest seq}; the events themselves are read
from the database, once per process (see `hub.Hub`). The in-process backend serves the embedded
mode; a Redis pub/sub backend with the same interface (`redis_bus.RedisBus`) joins the
processes of a cluster.
"""

import asyncio
from collections.abc import Callable
from typing import Protocol

# {org_id: highest seq}, or None: "announcements may have been missed, look at every org".
WakeUp = Callable[[dict[int, int] | None], None]


class EventBus(Protocol):
    def publish(self, pending: dict[int, int]) -> None:
        """Announce committed events; must not block (called from the commit hook)."""

    def subscribe(self, callback: WakeUp) -> None:
        """`callback` runs on this process's event loop for every announcement."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class InProcessBus:
    def __init__(self) -> None:
        self._subscribers: list[WakeUp] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def publish(self, pending: dict[int, int]) -> None:
        loop = self._loop
        if loop is None:
            return
        for callback in self._subscribers:
            # Called inside the commit hook: defer, so subscribers never run mid-commit.
            loop.call_soon_threadsafe(callback, dict(pending))

    def subscribe(self, callback: WakeUp) -> None:
        self._subscribers.append(callback)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        self._loop = None
