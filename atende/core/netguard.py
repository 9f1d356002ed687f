"""Outbound HTTP requests to addresses that users choose (web pages for knowledge, agents' HTTP
tools), guarded against reaching the server's own network (SSRF).

- Only `http` and `https` URLs.
- The host is resolved (asynchronously) and every address it resolves to must be public:
  private, loopback, link-local, multicast, reserved, unspecified, shared (CGNAT), IPv6
  unique-local and IPv4-mapped addresses are refused, unless the operator allowed them
  (`ATENDE_OUTBOUND_ALLOW_CIDRS`, or `ATENDE_OUTBOUND_ALLOW_PRIVATE` for a trusted setup).
- DNS rebinding: the check happens where the connection is opened (an httpcore network
  backend), and the connection goes to the address that was checked, never to a second
  resolution. The URL keeps its host name, so the `Host` header and TLS (SNI and the
  certificate check) are those of the name.
- Redirects are followed here, a bounded number of hops, each one checked again (scheme,
  address); headers the caller set are not sent to another origin.
- One deadline for the whole exchange, redirects included, and a size limit enforced while
  the body streams in: a larger body is refused, or cut when the caller asked for that.

Failures are `Problem`s (4xx with precise messages), so a route can let them through.
"""

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpcore
import httpx

from atende.core.errors import PayloadTooLarge, Problem
from atende.core.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_REDIRECTS = 5
USER_AGENT = "Atende/1.0 (+https://atende.dev)"
_REDIRECTS = {301, 302, 303, 307, 308}
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # IPv4 reached through a NAT64 gateway


class OutboundRefused(Problem):
    status, code, title = 422, "outbound-refused", "Address not allowed"


class OutboundUnreachable(Problem):
    status, code, title = 422, "outbound-unreachable", "The address cannot be reached"


class OutboundTimeout(Problem):
    status, code, title = 422, "outbound-timeout", "The address did not answer in time"


class OutboundTooLarge(PayloadTooLarge):
    code, title = "outbound-too-large", "The answer is too large"


def refusal_reason(ip: IPAddress) -> str | None:
    """What kind of non-public address `ip` is (`"a private address"`); None: public."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        if ip in _UNIQUE_LOCAL:
            return "a unique-local IPv6 address"
        if ip.sixtofour is not None or ip.teredo is not None:
            return "a tunnelled (6to4/Teredo) IPv6 address"
        if ip in _NAT64:
            return refusal_reason(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "a shared (CGNAT) address"),
        (ip.is_reserved, "a reserved address"),
        (ip.is_private, "a private address"),
        (not ip.is_global, "not a public address"),
    )
    return next((reason for refused, reason in checks if refused), None)


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """Which addresses may be reached, and how long and how much an exchange may take."""

    allow_cidrs: tuple[IPNetwork, ...] = ()
    allow_private: bool = False
    timeout: float = 15.0
    max_bytes: int = 5_242_880
    max_redirects: int = MAX_REDIRECTS

    @classmethod
    def from_settings(cls, settings: Settings, **changes: Any) -> "OutboundPolicy":
        cidrs = tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in settings.outbound_allow_cidrs.split(",")
            if part.strip()
        )
        fields: dict[str, Any] = {
            "allow_cidrs": cidrs,
            "allow_private": settings.outbound_allow_private,
            "timeout": settings.outbound_timeout_seconds,
            "max_bytes": settings.outbound_max_bytes,
        }
        return cls(**{**fields, **changes})

    def refusal(self, ip: IPAddress) -> str | None:
        """Why `ip` may not be reached (`"a private address"`); None: it may."""
        reason = refusal_reason(ip)
        if reason is None or self.allow_private:
            return None
        if any(ip.version == net.version and ip in net for net in self.allow_cidrs):
            return None
        return reason


async def resolve(host: str, port: int, policy: OutboundPolicy) -> IPAddress:
    """The address to connect to: the host's first address, once all of them passed."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        reason = policy.refusal(literal)
        if reason:
            raise OutboundRefused(f"refused: {literal} is {reason}.")
        return literal
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise OutboundUnreachable(f"The name {host} cannot be resolved.") from exc
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not addresses:
        raise OutboundUnreachable(f"The name {host} has no address.")
    for address in addresses:
        reason = policy.refusal(address)
        if reason:
            raise OutboundRefused(f"refused: {host} resolves to {address}, {reason}.")
    return addresses[0]


class _CheckedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections to the checked address of the host, never to another."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = await resolve(host, port, self._policy)
        return await self._inner.connect_tcp(
            str(address), port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise OutboundRefused("refused: Unix sockets are not reachable.")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@cache
def _ssl_context() -> ssl.SSLContext:
    """Certificates verified against certifi's bundle; built once (loading it takes time)."""
    return httpx.create_ssl_context(trust_env=False)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with the connection pool opening connections through the check."""

    def __init__(self, policy: OutboundPolicy) -> None:
        super().__init__(verify=_ssl_context(), trust_env=False, retries=0)
        # The pool httpx builds takes no network backend: build the same one with ours.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_ssl_context(),
            network_backend=_CheckedBackend(policy),
            max_connections=4,
        )


@dataclass(frozen=True, slots=True)
class Fetched:
    status: int
    url: str  # after redirects
    headers: Mapping[str, str]
    body: bytes
    truncated: bool = False

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def text(self) -> str:
        """The body decoded by its declared charset (UTF-8 otherwise, errors replaced)."""
        content_type = {"content-type": self.headers.get("content-type", "")}
        return httpx.Response(self.status, headers=content_type, content=self.body).text


@dataclass(slots=True)
class OutboundRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None  # sent as the JSON body when not None


def check_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise OutboundRefused(f"refused: {url[:200]!r} is not a valid URL.") from exc
    if parsed.scheme not in ("http", "https"):
        raise OutboundRefused(f"refused: only http and https URLs ({parsed.scheme or 'none'}).")
    if not parsed.host:
        raise OutboundRefused("refused: the URL has no host.")
    return parsed


async def _read(response: httpx.Response, limit: int, *, truncate: bool) -> tuple[bytes, bool]:
    declared = response.headers.get("content-length", "")
    if not truncate and declared.isdigit() and int(declared) > limit:
        raise OutboundTooLarge(f"The answer has {int(declared)} bytes; the limit is {limit}.")
    body = bytearray()
    async for part in response.aiter_bytes():
        body += part
        if len(body) > limit:
            if truncate:
                return bytes(body[:limit]), True
            raise OutboundTooLarge(f"The answer is larger than the limit of {limit} bytes.")
    return bytes(body), False


async def fetch(
    request: OutboundRequest, policy: OutboundPolicy, *, truncate: bool = False
) -> Fetched:
    """Sends `request` under `policy`: redirects followed and checked, the deadline and the
    size limit enforced (a larger body raises, or is cut when `truncate`)."""
    url = check_url(request.url)
    method, headers, payload = request.method.upper(), dict(request.headers), request.json
    origin = (url.scheme, url.host, url.port)
    headers.setdefault("user-agent", USER_AGENT)
    transport = GuardedTransport(policy)
    try:
        async with (
            asyncio.timeout(policy.timeout),
            httpx.AsyncClient(
                transport=transport,
                follow_redirects=False,
                trust_env=False,
                timeout=policy.timeout,
            ) as client,
        ):
            for _hop in range(policy.max_redirects + 1):
                sent = client.build_request(method, url, headers=headers, json=payload)
                response = await client.send(sent, stream=True)
                try:
                    location = response.headers.get("location")
                    if response.status_code in _REDIRECTS and location:
                        url = check_url(str(response.url.join(location)))
                        if response.status_code == 303 or (
                            response.status_code in (301, 302) and method == "POST"
                        ):
                            method, payload = "GET", None
                        if (url.scheme, url.host, url.port) != origin:
                            headers = {"user-agent": headers["user-agent"]}
                        continue
                    body, cut = await _read(response, policy.max_bytes, truncate=truncate)
                    return Fetched(
                        status=response.status_code,
                        url=str(response.url),
                        headers=dict(response.headers),
                        body=body,
                        truncated=cut,
                    )
                finally:
                    await response.aclose()
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise OutboundTimeout(
            f"{url.host} did not answer within {policy.timeout:g} seconds."
        ) from exc
    except httpx.HTTPError as exc:
        raise OutboundUnreachable(f"Cannot reach {url.host}: {exc or type(exc).__name__}.") from exc
    raise OutboundRefused(f"refused: more than {policy.max_redirects} redirects.")
