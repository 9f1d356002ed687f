"""The outbound-request guard: which addresses are refused (and why), the operator's allow
list, connections pinned to the checked address, redirects checked hop by hop, the deadline
and the size limit, against a web server on loopback."""

import asyncio
import ipaddress
import socket
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atende.core.netguard import (
    OutboundPolicy,
    OutboundRefused,
    OutboundRequest,
    OutboundTimeout,
    OutboundTooLarge,
    OutboundUnreachable,
    fetch,
    refusal_reason,
)
from atende.core.settings import Settings
from tests.support.fake_http import Scripted
from tests.support.fake_web import FakeWeb

LOOPBACK = OutboundPolicy(allow_cidrs=(ipaddress.ip_network("127.0.0.0/8"),), timeout=5)


@pytest.fixture
async def web() -> Any:
    async with FakeWeb() as server:
        yield server


def ip(text: str) -> Any:
    return ipaddress.ip_address(text)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.0.0.5", "a private address"),
        ("172.16.3.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("169.254.169.254", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("100.64.0.1", "a shared (CGNAT) address"),
        ("240.0.0.1", "a reserved address"),
        ("fd12:3456::1", "a unique-local IPv6 address"),
        ("::ffff:10.0.0.1", "an IPv4-mapped IPv6 address"),
        ("::ffff:8.8.8.8", "an IPv4-mapped IPv6 address"),
        ("2002:0a00:0001::1", "a tunnelled (6to4/Teredo) IPv6 address"),
        ("64:ff9b::10.0.0.1", "a private address"),  # NAT64 of a private IPv4
        ("192.0.2.10", "a private address"),  # documentation (IANA special-purpose)
        ("198.18.0.1", "a private address"),  # benchmarking (idem)
    ],
)
def test_non_public_addresses_are_named(address: str, reason: str) -> None:
    assert refusal_reason(ip(address)) == reason


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "64:ff9b::8.8.8.8"]
)
def test_public_addresses_pass(address: str) -> None:
    assert refusal_reason(ip(address)) is None


@given(st.ip_addresses(v=4))
def test_an_ipv4_address_passes_exactly_when_it_is_global_unicast(address: Any) -> None:
    assert (refusal_reason(address) is None) == (address.is_global and not address.is_multicast)


@given(st.ip_addresses(v=6))
def test_an_ipv6_address_passes_only_when_global(address: Any) -> None:
    if refusal_reason(address) is None:
        assert address.is_global
        assert not address.is_multicast
        assert address.ipv4_mapped is None
        assert address.sixtofour is None


@given(st.ip_addresses(v=4))
def test_ipv4_mapped_addresses_never_pass(address: Any) -> None:
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    assert refusal_reason(mapped) is not None


_PRIVATE_NETS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "100.64.0.0/10"]


@given(st.sampled_from(_PRIVATE_NETS).flatmap(lambda net: st.ip_addresses(network=net)))
def test_private_ranges_are_refused_unless_allowed(address: Any) -> None:
    assert OutboundPolicy().refusal(address) is not None
    allowed = OutboundPolicy(allow_cidrs=(ipaddress.ip_network(f"{address}/32"),))
    assert allowed.refusal(address) is None
    assert OutboundPolicy(allow_private=True).refusal(address) is None


def test_the_policy_comes_from_the_settings() -> None:
    settings = Settings(outbound_allow_cidrs="10.1.0.0/16, fd00::/8", outbound_max_bytes=2048)
    policy = OutboundPolicy.from_settings(settings, timeout=3)
    assert policy.allow_cidrs == (
        ipaddress.ip_network("10.1.0.0/16"),
        ipaddress.ip_network("fd00::/8"),
    )
    assert (policy.max_bytes, policy.timeout, policy.allow_private) == (2048, 3, False)
    assert policy.refusal(ip("10.1.2.3")) is None
    assert policy.refusal(ip("10.2.0.1")) == "a private address"
    with pytest.raises(ValueError, match="not a CIDR"):
        Settings(outbound_allow_cidrs="10.0.0.0/8,intranet")


async def test_loopback_is_refused_by_default(web: FakeWeb) -> None:
    url = web.page("/", b"<p>hi</p>")
    with pytest.raises(OutboundRefused, match=r"refused: 127\.0\.0\.1 is a loopback address"):
        await fetch(OutboundRequest("GET", url), OutboundPolicy())
    assert web.requests == []


async def test_an_allowed_loopback_server_is_fetched(web: FakeWeb) -> None:
    url = web.page("/p", "Olá".encode(), content_type="text/html; charset=utf-8")
    fetched = await fetch(OutboundRequest("GET", url, headers={"x-key": "k"}), LOOPBACK)
    assert (fetched.status, fetched.content_type, fetched.text()) == (200, "text/html", "Olá")
    assert web.requests[0].headers["x-key"] == "k"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("http:///nohost", "no host"),
        ("http://[::1", "not a valid URL"),
    ],
)
async def test_other_schemes_and_broken_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(OutboundRefused, match=message):
        await fetch(OutboundRequest("GET", url), OutboundPolicy())


async def test_the_connection_goes_to_the_checked_address_with_the_name_kept(
    web: FakeWeb, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name is resolved once per connection, checked, and the connection
    is opened to that address (here a private one allowed by the list); Host stays the name."""
    looked_up: list[str] = []
    port = int(web.base_url.rsplit(":", 1)[1])

    async def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        looked_up.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    web.page("/shop", b"<p>shop</p>")
    fetched = await fetch(OutboundRequest("GET", f"http://shop.example:{port}/shop"), LOOPBACK)
    assert fetched.status == 200
    assert looked_up == ["shop.example"]
    assert web.requests[0].headers["host"] == f"shop.example:{port}"


async def test_a_name_with_any_private_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    async def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", 80)),
        ]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    with pytest.raises(
        OutboundRefused, match=r"intranet\.example resolves to 10\.0\.0\.5, a private address"
    ):
        await fetch(OutboundRequest("GET", "http://intranet.example/"), OutboundPolicy())


async def test_an_unknown_name_is_unreachable() -> None:
    with pytest.raises(OutboundUnreachable, match="cannot be resolved"):
        await fetch(OutboundRequest("GET", "http://no-such-host.invalid/"), OutboundPolicy())


async def test_redirects_are_followed_and_each_hop_is_checked(web: FakeWeb) -> None:
    web.page("/end", b"<p>end</p>")
    web.redirect("/b", "/end", status=301)
    start = web.redirect("/a", web.base_url + "/b")
    fetched = await fetch(OutboundRequest("GET", start), LOOPBACK)
    assert fetched.url == web.base_url + "/end"
    assert [r.path for r in web.requests] == ["/a", "/b", "/end"]

    web.redirect("/to-metadata", "http://169.254.169.254/latest/meta-data/")
    with pytest.raises(OutboundRefused, match=r"169\.254\.169\.254 is a link-local address"):
        await fetch(OutboundRequest("GET", web.base_url + "/to-metadata"), LOOPBACK)
    web.redirect("/to-file", "file:///etc/passwd")
    with pytest.raises(OutboundRefused, match="only http and https"):
        await fetch(OutboundRequest("GET", web.base_url + "/to-file"), LOOPBACK)


async def test_redirect_loops_stop(web: FakeWeb) -> None:
    loop = web.redirect("/loop", "/loop")
    with pytest.raises(OutboundRefused, match="more than 5 redirects"):
        await fetch(OutboundRequest("GET", loop), LOOPBACK)
    assert len(web.requests) == 6


async def test_a_303_turns_a_post_into_a_get(web: FakeWeb) -> None:
    web.page("/done", {"ok": True})
    start = web.redirect("/order", "/done", status=303)
    fetched = await fetch(OutboundRequest("POST", start, json={"id": 1}), LOOPBACK)
    assert fetched.status == 200
    assert [(r.method, r.path) for r in web.requests] == [("POST", "/order"), ("GET", "/done")]


async def test_the_size_limit_holds_while_streaming(web: FakeWeb) -> None:
    declared = web.page("/big", b"x" * 5000)
    streamed = web.page("/stream", b"y" * 1024, chunks=50)  # no Content-Length
    small = OutboundPolicy(allow_cidrs=LOOPBACK.allow_cidrs, max_bytes=2048, timeout=5)
    with pytest.raises(OutboundTooLarge, match="5000 bytes; the limit is 2048"):
        await fetch(OutboundRequest("GET", declared), small)
    with pytest.raises(OutboundTooLarge, match="larger than the limit of 2048"):
        await fetch(OutboundRequest("GET", streamed), small)
    cut = await fetch(OutboundRequest("GET", streamed), small, truncate=True)
    assert (len(cut.body), cut.truncated) == (2048, True)


async def test_a_silent_server_times_out(web: FakeWeb) -> None:
    web.script("GET", "/slow", Scripted(status=200, json={}, delay=5))
    quick = OutboundPolicy(allow_cidrs=LOOPBACK.allow_cidrs, timeout=0.3)
    with pytest.raises(OutboundTimeout, match=r"did not answer within 0\.3 seconds"):
        await fetch(OutboundRequest("GET", web.base_url + "/slow"), quick)


async def test_a_closed_port_is_unreachable() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(OutboundUnreachable, match=r"Cannot reach 127\.0\.0\.1"):
        await fetch(OutboundRequest("GET", f"http://127.0.0.1:{port}/"), LOOPBACK)
