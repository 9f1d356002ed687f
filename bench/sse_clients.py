"""Many SSE clients in one process (asyncio protocols, no per-client task), for benchmarks."""

import asyncio
import re
import time
from datetime import datetime
from typing import cast

AT = re.compile(rb'"at":"([^"]+)"')


class SseClient(asyncio.Protocol):
    def __init__(self, request: bytes, connected: asyncio.Future[None]) -> None:
        self.request = request
        self.connected = connected
        self.latencies: list[float] = []
        self.buffer = b""
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if not self.connected.done():
            self.buffer += data
            if b"\r\n\r\n" in self.buffer:
                head = self.buffer.split(b"\r\n", 1)[0]
                if b" 200 " not in head:
                    self.connected.set_exception(RuntimeError(head.decode()))
                    return
                self.connected.set_result(None)
                data = self.buffer.split(b"\r\n\r\n", 1)[1]
                self.buffer = b""
        for match in AT.finditer(data):
            sent = datetime.fromisoformat(match.group(1).decode()).timestamp()
            self.latencies.append(now - sent)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.connected.done():
            self.connected.set_exception(ConnectionError("closed before the response"))


async def open_clients(
    host: str, port: int, path: str, headers: dict[str, str], count: int, concurrency: int = 200
) -> list[SseClient]:
    loop = asyncio.get_running_loop()
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: text/event-stream"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    clients: list[SseClient] = []
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            connected: asyncio.Future[None] = loop.create_future()
            _transport, client = await loop.create_connection(
                lambda: SseClient(request, connected), host, port
            )
            await asyncio.wait_for(connected, 60)
            clients.append(client)

    await asyncio.gather(*(one() for _ in range(count)))
    return clients


def close_clients(clients: list[SseClient]) -> None:
    for client in clients:
        client.transport.close()
