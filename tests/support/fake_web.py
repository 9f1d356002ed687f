"""A web server on loopback for outbound requests: pages, redirects, large or slow bodies, and
a business's JSON API for agents' HTTP tools. Every request is recorded (`requests`)."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse, Response, StreamingResponse

from tests.support.fake_http import FakeHttpServer, Recorded


@dataclass
class Page:
    status: int = 200
    body: bytes | Any = b""  # bytes as they are; anything else as JSON
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    chunks: int = 0  # > 0: stream the body this many times, without a Content-Length


class FakeWeb(FakeHttpServer):
    def __init__(self) -> None:
        super().__init__()
        self.pages: dict[str, Page] = {}

    def page(self, path: str, body: bytes | Any = b"", **fields: Any) -> str:
        """Serves `body` at `path`; returns its URL."""
        self.pages[path] = Page(body=body, **fields)
        return self.base_url + path

    def redirect(self, path: str, to: str, status: int = 302) -> str:
        self.pages[path] = Page(status=status, headers={"location": to})
        return self.base_url + path

    async def answer(self, rec: Recorded) -> tuple[int, Any]:
        page = self.pages.get(rec.path)
        if page is None:
            return 404, Response(b"not here", media_type="text/plain")
        if page.chunks:
            data = page.body

            async def stream() -> AsyncIterator[bytes]:
                for _ in range(page.chunks):
                    yield data

            return page.status, StreamingResponse(
                stream(), media_type=page.content_type, headers=page.headers
            )
        if isinstance(page.body, bytes):
            return page.status, Response(
                page.body, media_type=page.content_type, headers=page.headers
            )
        return page.status, JSONResponse(page.body, headers=page.headers)
