"""Size-limited downloads for the adapters: the body is streamed and dropped at the limit."""

from dataclasses import dataclass
from typing import Any

import httpx

from atende.whatsapp.providers.base import ProviderError

CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class DownloadedMedia:
    data: bytes
    mime_type: str | None = None
    filename: str | None = None


@dataclass(frozen=True, slots=True)
class LimitedResponse:
    status_code: int
    headers: httpx.Headers
    body: bytes

    def response(self) -> httpx.Response:
        """As an `httpx.Response` (for the adapters' error parsers)."""
        # The body is decoded already: only its type goes along, not its content-encoding.
        content_type = self.headers.get("content-type", "application/octet-stream")
        return httpx.Response(
            self.status_code, headers={"content-type": content_type}, content=self.body
        )


def too_large(what: str, max_bytes: int) -> ProviderError:
    return ProviderError(f"{what}: larger than {max_bytes} bytes", retryable=False, status=413)


async def fetch_limited(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    max_bytes: int,
    request_timeout: httpx.Timeout,
    what: str,
    **kwargs: Any,
) -> LimitedResponse:
    """One streamed request; more than `max_bytes` of body raises a permanent `ProviderError`
    as soon as the limit is passed (announced by Content-Length or counted). Transport failures
    are retryable, as in `wire.send`."""
    try:
        async with client.stream(method, url, timeout=request_timeout, **kwargs) as response:
            declared = response.headers.get("content-length", "")
            if response.status_code < 400 and declared.isdigit() and int(declared) > max_bytes:
                raise too_large(what, max_bytes)
            chunks: list[bytes] = []
            received = 0
            async for chunk in response.aiter_bytes(CHUNK):
                received += len(chunk)
                if received > max_bytes:
                    if response.status_code >= 400:
                        break  # an error page: its beginning is enough
                    raise too_large(what, max_bytes)
                chunks.append(chunk)
            return LimitedResponse(response.status_code, response.headers, b"".join(chunks))
    except httpx.UnsupportedProtocol as exc:
        raise ProviderError(f"{what}: {exc}", retryable=False) from None
    except httpx.TimeoutException:
        raise ProviderError(f"{what}: timed out", retryable=True) from None
    except httpx.TransportError as exc:
        raise ProviderError(f"{what}: connection failed ({exc!r})", retryable=True) from None
    except httpx.DecodingError as exc:
        raise ProviderError(f"{what}: undecodable body ({exc})", retryable=False) from None
    except httpx.InvalidURL as exc:
        raise ProviderError(f"{what}: invalid URL ({exc})", retryable=False) from None
