"""Sign-in limits kept in Redis are shared by every process of a cluster."""

import secrets

import pytest

from atende.core.errors import RateLimited
from atende.core.ratelimit import LoginRateLimiter
from tests.conftest import require_service

pytestmark = pytest.mark.redis
REDIS = "async+redis://127.0.0.1:6379/0"


async def test_two_processes_share_one_budget() -> None:
    require_service("Redis", "127.0.0.1", 6379)
    web_1 = LoginRateLimiter("3/minute", REDIS)
    web_2 = LoginRateLimiter("3/minute", REDIS)
    ip, email = (
        f"10.0.0.{secrets.randbelow(250)}-{secrets.token_hex(4)}",
        f"{secrets.token_hex(6)}@x.io",
    )
    await web_1.hit(ip=ip, email=email)
    await web_2.hit(ip=ip, email=email)
    await web_1.hit(ip=ip, email=email)
    with pytest.raises(RateLimited) as limited:
        await web_2.hit(ip=ip, email=email)
    assert limited.value.extensions["retry_after"] >= 1
    # Another address, same e-mail: still limited (guessing one account from many addresses).
    with pytest.raises(RateLimited):
        await web_2.hit(ip=ip + "-other", email=email)
    await web_1.aclose()
    await web_2.aclose()


def test_sync_storage_is_refused() -> None:
    with pytest.raises(ValueError, match="async"):
        LoginRateLimiter("3/minute", "memory://")
