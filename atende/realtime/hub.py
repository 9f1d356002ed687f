"""Fan-out of stored events to this process's live clients.

One reader task per process reads each new event from the database once, encodes it once, and
writes it to every client of the organisation by calling the client's ASGI `send` directly: no
queue and no task per client, which is what lets one process hold 10,000 idle streams cheaply.

Browsers read Server-Sent Events; API clients may use a WebSocket instead (`websocket=True`):
each event is encoded once in both framings, and a client gets the one it speaks.

A client whose socket is not draining (the transport paused writing: its kernel buffer and the
transport's high-water mark are full) is dropped, never waited for; it reconnects and resumes
from its `Last-Event-ID`, reading what it missed from the stored events.
"""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from atende.core.db import Database
from atende.core.events import Event, events_after
from atende.core.metrics import Metrics
from atende.core.models import Role

log = logging.getLogger("atende.realtime")

Send = Callable[[dict[str, Any]], Awaitable[None]]
CATCH_UP_BATCH = 500
HEARTBEAT = b": heartbeat\n\n"


@dataclass(eq=False, slots=True)
class Client:
    org_id: int
    role: Role
    user_id: int | None
    send: Send
    task: asyncio.Task[Any] | None
    last_seq: int
    websocket: bool = False
    dropped: bool = False
    finished: bool = False
    gone: bool = False


def body_message(data: bytes, *, more_body: bool = True) -> dict[str, Any]:
    return {"type": "http.response.body", "body": data, "more_body": more_body}


EncodedEvent = tuple[int, dict[str, Any], dict[str, Any]]  # seq, SSE message, WebSocket message


def encode_event(event: Event) -> tuple[bytes, str]:
    """The event as an SSE frame and as a WebSocket text frame (the same JSON)."""
    data = json.dumps(
        {
            "seq": event.seq,
            "type": event.type,
            "at": event.created_at.isoformat(),
            "data": event.payload,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return f"id: {event.seq}\nevent: {event.type}\ndata: {data}\n\n".encode(), data


def websocket_text(text: str) -> dict[str, Any]:
    return {"type": "websocket.send", "text": text}


class Hub:
    def __init__(self, database: Database, metrics: Metrics, heartbeat_seconds: float) -> None:
        self._database = database
        self._metrics = metrics
        self._heartbeat_seconds = heartbeat_seconds
        self._clients: dict[int, set[Client]] = {}
        self._cursor: dict[int, int] = {}  # highest seq read per organisation
        self._dirty: set[int] = set()
        self._catching_up: list[Client] = []
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._read_loop(), name="hub-reader"),
            asyncio.create_task(self._heartbeat_loop(), name="hub-heartbeat"),
        ]

    async def stop(self) -> None:
        self.finish_all()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    @property
    def client_count(self) -> int:
        return sum(len(clients) for clients in self._clients.values())

    # --- wake-ups from the bus ----------------------------------------------------------------

    def on_published(self, pending: dict[int, int] | None) -> None:
        if pending is None:  # the bus may have missed some: re-read every organisation
            self._dirty.update(self._clients)
            pending = {}
        for org_id, seq in pending.items():
            if org_id in self._clients and seq > self._cursor.get(org_id, 0):
                self._dirty.add(org_id)
        if self._dirty:
            self._wake.set()

    # --- clients ------------------------------------------------------------------------------

    def add(self, client: Client) -> None:
        """Registers a client: it first gets every stored event after its `last_seq`, then goes
        live. Catch-up and broadcast run in the same task, so no event slips between them."""
        self._catching_up.append(client)
        self._metrics.sse_clients.inc()
        self._wake.set()

    def remove(self, client: Client) -> None:
        if client.gone:
            return
        client.gone = True
        self._metrics.sse_clients.dec()
        clients = self._clients.get(client.org_id)
        if clients is not None:
            clients.discard(client)
            if not clients:
                del self._clients[client.org_id]
                self._cursor.pop(client.org_id, None)

    def _go_live(self, client: Client) -> None:
        if client.gone or client.dropped or client.finished:
            return
        clients = self._clients.setdefault(client.org_id, set())
        # The catch-up read everything committed so far; a newer cursor cannot exist.
        cursor = self._cursor.get(client.org_id)
        self._cursor[client.org_id] = client.last_seq if cursor is None else cursor
        clients.add(client)
        self._dirty.add(client.org_id)

    def finish_all(self) -> None:
        """Ends every stream cleanly (server shutdown); clients reconnect elsewhere and resume."""
        for clients in [*self._clients.values(), self._catching_up]:
            for client in list(clients):
                if client.websocket:  # 1012: service restart; reconnect and resume
                    self._send_now(client, {"type": "websocket.close", "code": 1012})
                else:
                    self._write(client, b"", more_body=False)

    # --- delivery -------------------------------------------------------------------------------

    def _write(self, client: Client, data: bytes, *, more_body: bool = True) -> bool:
        return self._send_now(client, body_message(data, more_body=more_body))

    def _send_now(self, client: Client, message: dict[str, Any]) -> bool:
        """Writes without ever waiting: returns False (and drops the client) if it would block."""
        if client.dropped or client.finished or client.gone:
            return False
        ends = message["type"] == "websocket.close" or message.get("more_body") is False
        coroutine = client.send(message)
        if not isinstance(coroutine, Coroutine):  # pragma: no cover - non-coroutine senders
            raise TypeError("ASGI send must be a coroutine function")
        try:
            # The server writes to its transport synchronously unless writing is paused, in
            # which case the coroutine would suspend waiting to drain: then we drop the client.
            coroutine.send(None)
        except StopIteration:
            if ends:
                client.finished = True
            return True
        except Exception as exc:  # the connection is gone; its handler will clean up
            log.debug("sse write failed", extra={"error": repr(exc)})
            self._drop(client, "write failed")
            return False
        coroutine.close()
        self._drop(client, "slow client")
        return False

    def _drop(self, client: Client, reason: str) -> None:
        client.dropped = True
        self._metrics.sse_dropped.inc()
        log.warning("sse client dropped", extra={"org_id": client.org_id, "reason": reason})
        self.remove(client)
        if client.task is not None:
            client.task.cancel()

    def _deliver(self, client: Client, events: list[EncodedEvent]) -> int:
        """Writes the events the client has not seen; returns how many were written."""
        written = 0
        for seq, sse, ws in events:
            if seq <= client.last_seq:
                continue
            if not self._send_now(client, ws if client.websocket else sse):
                break
            client.last_seq = seq
            written += 1
        return written

    def _deliver_all(self, clients: list[Client], events: list[EncodedEvent]) -> None:
        # The hot loop of a broadcast: one ASGI message per event, shared by every client.
        written = 0
        for client in clients:
            written += self._deliver(client, events)
        self._metrics.events_delivered.inc(written)

    async def _read_events(self, org_id: int, after: int, limit: int) -> list[EncodedEvent]:
        async with self._database.unit_of_work(write=False) as session:
            rows = await events_after(session, org_id=org_id, after=after, limit=limit)
            encoded: list[EncodedEvent] = []
            for event in rows:  # inside the session: the rows expire when it ends
                sse, text = encode_event(event)
                encoded.append((event.seq, body_message(sse), websocket_text(text)))
            return encoded

    async def _catch_up(self, org_id: int, clients: list[Client]) -> None:
        """One read per organisation for a whole batch of new clients (thousands may arrive
        at once after a restart); each gets the events after its own `last_seq`."""
        after = min(client.last_seq for client in clients)
        while True:
            events = await self._read_events(org_id, after, CATCH_UP_BATCH)
            self._deliver_all(clients, events)
            if len(events) < CATCH_UP_BATCH:
                return
            after = events[-1][0]

    async def _read_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._process()
            except Exception:
                log.exception("event fan-out failed; retrying on the next wake-up")
                await asyncio.sleep(0.5)
                self._wake.set()

    async def _process(self) -> None:
        catching_up, self._catching_up = self._catching_up, []
        by_org: dict[int, list[Client]] = {}
        for client in catching_up:
            by_org.setdefault(client.org_id, []).append(client)
        for org_id, clients in by_org.items():
            await self._catch_up(org_id, clients)
            for client in clients:
                self._go_live(client)
        while self._dirty:
            org_id = self._dirty.pop()
            if not self._clients.get(org_id):
                continue
            events = await self._read_events(org_id, self._cursor.get(org_id, 0), CATCH_UP_BATCH)
            live = self._clients.get(org_id)
            if not events or not live:
                continue
            self._cursor[org_id] = events[-1][0]
            self._deliver_all(list(live), events)
            if len(events) == CATCH_UP_BATCH:
                self._dirty.add(org_id)

    async def _heartbeat_loop(self) -> None:
        heartbeat = body_message(HEARTBEAT)
        while True:
            await asyncio.sleep(self._heartbeat_seconds)
            for clients in list(self._clients.values()):
                for client in list(clients):
                    if not client.websocket:  # the server pings WebSockets itself
                        self._send_now(client, heartbeat)
