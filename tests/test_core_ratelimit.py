"""Sign-in rate limiting, per client address and per e-mail (atende/core/ratelimit.py).

A dedicated server allows 3 attempts a minute and trusts loopback as a proxy, so each test
speaks from addresses of its own through `X-Forwarded-For`.
"""

import secrets
from collections.abc import Iterator

import httpx
import pytest

from atende.bootstrap import create_user_in
from atende.core.models import Role
from atende.core.settings import Settings
from tests.support.direct_db import problem_of
from tests.support.server import Server, start_server, stop_server
from tests.support.tenants import PASSWORD, unique_email


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("limited")
    srv = start_server(
        data_dir,
        f"sqlite+aiosqlite:///{data_dir / 'atende.db'}",
        login_rate_limit="3/minute",
        trusted_proxies="127.0.0.1",
    )
    yield srv
    stop_server(srv)


def new_ip() -> str:
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


async def account(server: Server) -> str:
    """An account made straight in the database: sign-up would count as an attempt too."""
    email = unique_email("limited")
    settings = Settings(
        database_url=server.database_url,
        data_dir=server.data_dir,
        secret_key=server.env["ATENDE_SECRET_KEY"],
    )
    await create_user_in(
        settings,
        email=email,
        name="Limited",
        password=PASSWORD,
        organisation="Limited",
        role=Role.owner,
    )
    return email


async def attempt(server: Server, email: str, password: str, ip: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        return await client.post(
            "/api/v1/auth/login",
            json={"email": email, "password": password},
            headers={"X-Forwarded-For": ip},
        )


def assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert problem_of(response)["type"] == "https://atende.dev/problems/rate-limited"
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert "set-cookie" not in response.headers or "atende_session" not in str(
        response.headers.get_list("set-cookie")
    )


async def test_fourth_attempt_is_429_even_with_the_right_password(limited: Server) -> None:
    email = await account(limited)
    ip = new_ip()
    for _ in range(3):
        assert (await attempt(limited, email, "wrong password", ip)).status_code == 401
    assert_limited(await attempt(limited, email, PASSWORD, ip))


async def test_the_address_is_limited_across_e_mails(limited: Server) -> None:
    """Password spraying: one address trying many accounts."""
    emails = [await account(limited) for _ in range(4)]
    ip = new_ip()
    for email in emails[:3]:
        assert (await attempt(limited, email, "wrong password", ip)).status_code == 401
    assert_limited(await attempt(limited, emails[3], PASSWORD, ip))
    # The fourth account is not locked by it: from another address it signs in.
    assert (await attempt(limited, emails[3], PASSWORD, new_ip())).status_code == 200


async def test_the_e_mail_is_limited_across_addresses(limited: Server) -> None:
    """Guessing one account's password from many addresses."""
    email = await account(limited)
    for _ in range(3):
        assert (await attempt(limited, email, "wrong password", new_ip())).status_code == 401
    assert_limited(await attempt(limited, email.upper(), PASSWORD, new_ip()))
    # Other accounts from a fresh address are unaffected.
    other = await account(limited)
    assert (await attempt(limited, other, PASSWORD, new_ip())).status_code == 200


async def test_sign_up_counts_as_an_attempt_of_the_address(limited: Server) -> None:
    ip = new_ip()
    statuses = []
    for _ in range(4):
        async with httpx.AsyncClient(base_url=limited.base_url) as client:
            response = await client.post(
                "/api/v1/auth/signup",
                json={"email": unique_email(), "password": PASSWORD, "organisation": "Spam"},
                headers={"X-Forwarded-For": ip},
            )
        statuses.append(response.status_code)
    assert statuses == [201, 201, 201, 429]
    assert_limited(response)


async def test_refused_attempts_do_not_count(limited: Server) -> None:
    """Once limited, further attempts do not extend the window of the address."""
    email = await account(limited)
    ip = new_ip()
    for _ in range(3):
        await attempt(limited, email, "wrong password", ip)
    for _ in range(3):
        assert_limited(await attempt(limited, unique_email(), "x", ip))
    assert limited.log_text().count("Traceback") == 0
