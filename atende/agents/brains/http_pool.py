"""One HTTP connection pool per event loop for the model servers.

Building an `AsyncOpenAI` client builds an HTTP client and its TLS context: ~10-20 ms of CPU on
this machine, more than the rest of a reply's overhead. Clients made with a shared `http_client`
cost microseconds and reuse its kept-alive connections. The pool belongs to one event loop
(its connections do), hence one per loop.
"""

import asyncio
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the `openai` package is loaded by the first model call (see brains/)
    from openai import DefaultAsyncHttpxClient

_POOLS: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, DefaultAsyncHttpxClient]" = (
    weakref.WeakKeyDictionary()
)


def shared_http_client() -> "DefaultAsyncHttpxClient":
    """The running loop's pool (made on first use). Timeouts are given per request."""
    from openai import DefaultAsyncHttpxClient

    loop = asyncio.get_running_loop()
    client = _POOLS.get(loop)
    if client is None or client.is_closed:
        client = DefaultAsyncHttpxClient(follow_redirects=False)
        _POOLS[loop] = client
    return client


async def close_shared_http_client() -> None:
    client = _POOLS.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()
