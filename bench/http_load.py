"""A small HTTP/1.1 keep-alive load generator (asyncio protocols), for the benchmarks.

Closed loop: `connections` clients each send their next request when the previous answer
arrives. Open loop: requests start at a fixed rate whatever the answers do (latency then
includes queueing, as a provider's retries would see it).
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

RequestFactory = Callable[[int], bytes]


@dataclass
class LoadResult:
    sent: int = 0
    ok: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = b""
        self.waiter: asyncio.Future[int] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head, sep, rest = self.buffer.partition(b"\r\n\r\n")
        if not sep:
            return
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(rest) < length:
            return
        self.buffer = rest[length:]
        status = int(head.split(b" ", 2)[1])
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("closed"))

    async def request(self, payload: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(payload)
        return await self.waiter


async def _connect(host: str, port: int) -> _Connection:
    _t, protocol = await asyncio.get_running_loop().create_connection(_Connection, host, port)
    return protocol


async def closed_loop(
    host: str, port: int, make: RequestFactory, *, total: int, connections: int
) -> LoadResult:
    result = LoadResult()
    counter = iter(range(total))
    pool = [await _connect(host, port) for _ in range(connections)]

    async def worker(conn: _Connection) -> None:
        for n in counter:
            started = time.perf_counter()
            result.sent += 1
            try:
                status = await conn.request(make(n))
            except ConnectionError:
                result.errors += 1
                conn = await _connect(host, port)
                continue
            result.latencies.append(time.perf_counter() - started)
            if 200 <= status < 300:
                result.ok += 1
            else:
                result.errors += 1

    began = time.perf_counter()
    await asyncio.gather(*(worker(conn) for conn in pool))
    result.elapsed = time.perf_counter() - began
    for conn in pool:
        if conn.transport is not None:
            conn.transport.close()
    return result


async def open_loop(
    host: str, port: int, make: RequestFactory, *, rate: float, seconds: float, start: int
) -> LoadResult:
    """Starts `rate` requests per second for `seconds`, each on a free pooled connection."""
    result = LoadResult()
    idle: list[_Connection] = []
    tasks: list[asyncio.Task[None]] = []

    async def one(n: int, scheduled: float) -> None:
        conn = idle.pop() if idle else await _connect(host, port)
        result.sent += 1
        try:
            status = await conn.request(make(n))
        except ConnectionError:
            result.errors += 1
            return
        result.latencies.append(time.perf_counter() - scheduled)
        result.ok += 200 <= status < 300
        result.errors += not 200 <= status < 300
        idle.append(conn)

    began = time.perf_counter()
    count = int(rate * seconds)
    for i in range(count):
        scheduled = began + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(start + i, scheduled)))
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - began
    for conn in idle:
        if conn.transport is not None:
            conn.transport.close()
    return result
