"""A recording HTTP server on loopback (Starlette under uvicorn, in the test's event loop).

Subclasses answer per a provider's protocol in `answer`; tests script failures per route
(`script`) and read back every request (`requests`).
"""

import asyncio
import contextlib
import json
import socket
from dataclasses import dataclass, field
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)  # filename, type, data


@dataclass
class Scripted:
    """A canned answer: `delay` seconds of silence first (to provoke client timeouts)."""

    status: int = 500
    json: Any = None
    delay: float = 0.0
    text: str | None = None


class FakeHttpServer:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._scripts: dict[tuple[str, str], list[Scripted]] = {}
        self._stopping = asyncio.Event()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.base_url = ""

    # -- scripting --------------------------------------------------------------------------

    def script(self, method: str, path: str, *answers: Scripted) -> None:
        """The next requests to `method path` get `answers`, in order, then normal service."""
        self._scripts.setdefault((method.upper(), path), []).extend(answers)

    def last(self, method: str, path: str) -> Recorded:
        matching = [r for r in self.requests if r.method == method and r.path == path]
        assert matching, f"no {method} {path}; got {[(r.method, r.path) for r in self.requests]}"
        return matching[-1]

    async def answer(self, rec: Recorded) -> tuple[int, Any]:
        raise NotImplementedError

    # -- server -----------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        rec = await self._record(request)
        self.requests.append(rec)
        queue = self._scripts.get((rec.method, rec.path))
        if queue:
            scripted = queue.pop(0)
            if scripted.delay:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), scripted.delay)
            if scripted.text is not None:
                return Response(scripted.text, status_code=scripted.status)
            return JSONResponse(scripted.json, status_code=scripted.status)
        status, body = await self.answer(rec)
        if isinstance(body, Response):  # raw bytes (a media download), headers included
            body.status_code = status
            return body
        return JSONResponse(body, status_code=status)

    async def _record(self, request: Request) -> Recorded:
        body = await request.body()
        rec = Recorded(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
        )
        content_type = rec.headers.get("content-type", "")
        if content_type.startswith("application/json") and body:
            with contextlib.suppress(ValueError):
                rec.json = json.loads(body)
        elif content_type.startswith("multipart/form-data"):
            async with request.form() as form:
                for name, value in form.multi_items():
                    if isinstance(value, UploadFile):
                        data = await value.read()
                        rec.files[name] = (value.filename or "", value.content_type or "", data)
                    else:
                        rec.form[name] = value
        return rec

    async def start(self) -> Self:
        methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        app = Starlette(routes=[Route("/{path:path}", self._endpoint, methods=methods)])
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        for _ in range(500):
            if self._server.started or self._task.done():
                break
            await asyncio.sleep(0.01)
        if not self._server.started:
            sock.close()
            raise RuntimeError("fake server did not start")
        self._sock = sock
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        self._stopping.set()
        if self._server and self._task:
            self._server.should_exit = True
            await self._task
        self._sock.close()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
