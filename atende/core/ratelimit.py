"""Sign-in rate limiting (the `limits` library: in memory, or Redis by storage URI)."""

import time

from limits import parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from atende.core.errors import RateLimited


class LoginRateLimiter:
    """Limits attempts per client address and per e-mail, so neither spraying nor guessing pays."""

    def __init__(self, rate: str, storage_uri: str = "async+memory://") -> None:
        self._item = parse(rate)
        options: dict[str, str] = {}
        if storage_uri.startswith("async+redis"):
            options["implementation"] = "redispy"  # the redis client the project already uses
        storage = storage_from_string(storage_uri, **options)
        if not isinstance(storage, Storage):
            raise ValueError(f"{storage_uri!r} is not an async storage (use async+...://)")
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(storage)

    async def hit(self, *, ip: str, email: str) -> None:
        keys = [("login-ip", ip), ("login-email", email.strip().lower())]
        for key in keys:
            if not await self._limiter.test(self._item, *key):
                stats = await self._limiter.get_window_stats(self._item, *key)
                raise RateLimited(
                    "Too many sign-in attempts. Wait a minute and try again.",
                    retry_after=max(1, int(stats.reset_time - time.time())),
                )
        for key in keys:
            await self._limiter.hit(self._item, *key)

    async def aclose(self) -> None:
        # `limits` has no close(); its Redis bridge holds a redis-py client, which has one.
        client = getattr(getattr(self._storage, "bridge", None), "storage", None)
        if client is not None:
            await client.aclose()
