"""Sign-in rate limiting (the `limits` library: in memory, or Redis by storage URI)."""

import time

from limits import parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from atende.core.errors import RateLimited


def async_rate_storage(uri: str) -> Storage:
    """A `limits` async storage from a URI: `async+memory://` or `async+redis://host:port`."""
    options: dict[str, str] = {}
    if uri.startswith("async+redis"):
        options["implementation"] = "redispy"  # the redis client the project already uses
    storage = storage_from_string(uri, **options)
    if not isinstance(storage, Storage):
        raise ValueError(f"{uri!r} is not an async storage (use async+...://)")
    return storage


async def close_rate_storage(storage: Storage) -> None:
    # `limits` has no close(); its Redis bridge holds a redis-py client, which has one.
    client = getattr(getattr(storage, "bridge", None), "storage", None)
    if client is not None:
        await client.aclose()


class LoginRateLimiter:
    """Limits attempts per client address and per e-mail, so neither spraying nor guessing pays."""

    def __init__(self, rate: str, storage_uri: str = "async+memory://") -> None:
        self._item = parse(rate)
        self._storage = async_rate_storage(storage_uri)
        self._limiter = MovingWindowRateLimiter(self._storage)

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
        await close_rate_storage(self._storage)
