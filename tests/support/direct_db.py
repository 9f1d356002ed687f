"""Test helpers: a direct session on a test server's database; problem+json checks."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from atende.core.db import Database


@asynccontextmanager
async def direct_session(database_url: str) -> AsyncIterator[AsyncSession]:
    """A committed unit of work on the server's database, outside the server."""
    database = Database(database_url)
    try:
        async with database.unit_of_work() as session:
            yield session
    finally:
        await database.dispose()


def problem_of(response: httpx.Response) -> dict[str, object]:
    """Asserts that a response is RFC 9457 problem+json and returns its body."""
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith("application/problem+json"), (content_type, response.text)
    body = response.json()
    assert isinstance(body, dict)
    for key in ("type", "title", "status", "detail"):
        assert key in body, (key, body)
    assert body["status"] == response.status_code, body
    return body
