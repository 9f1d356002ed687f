"""Operations: health, readiness, Prometheus metrics, structured logs with request ids."""

import json

import httpx

from tests.support.server import Server
from tests.support.sse import iter_events
from tests.support.tenants import Tenant, add_member


async def test_health_and_readiness(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"


async def test_metrics_count_routes_events_and_streams(server: Server, tenant: Tenant) -> None:
    async with tenant.client.stream("GET", "/api/v1/events") as response:
        events = iter_events(response)
        await add_member(tenant, server.base_url, "operator")
        await anext(events)
        metrics = (await tenant.client.get("/metrics")).text
    assert 'atende_http_requests_total{method="POST",route="/api/v1/invitations",status="201"}' in (
        metrics
    )
    timed = 'atende_http_request_duration_seconds_count{method="POST",route="/api/v1/invitations"}'
    assert timed in metrics
    # The open stream is not timed as a request (its duration is its lifetime).
    assert 'duration_seconds_count{method="GET",route="/api/v1/events"}' not in metrics
    assert "atende_http_requests_in_flight" in metrics
    streams = next(
        line for line in metrics.splitlines() if line.startswith("atende_sse_clients_connected ")
    )
    assert float(streams.split()[1]) >= 1
    published = next(
        line for line in metrics.splitlines() if line.startswith("atende_events_published_total ")
    )
    assert float(published.split()[1]) >= 1
    assert "process_resident_memory_bytes" in metrics


async def test_logs_are_json_lines_with_the_request_id(server: Server, tenant: Tenant) -> None:
    response = await tenant.client.get("/api/v1/me", headers={"X-Request-ID": "trace-me-123"})
    assert response.headers["x-request-id"] == "trace-me-123"
    generated = (await tenant.client.get("/api/v1/me")).headers["x-request-id"]
    assert generated
    assert generated != "trace-me-123"
    lines = [json.loads(line) for line in server.log_text().splitlines() if line.startswith("{")]
    mine = [line for line in lines if line.get("request_id") == "trace-me-123"]
    assert mine, "no log line carries the request id"
    assert mine[-1]["route"] == "/api/v1/me"
    assert mine[-1]["status"] == 200
    assert {"time", "level", "logger", "message"} <= set(mine[-1])


async def test_hostile_request_id_is_replaced(tenant: Tenant) -> None:
    response = await tenant.client.get("/api/v1/me", headers={"X-Request-ID": "a b\tc" * 30})
    assert response.headers["x-request-id"] != "a b\tc" * 30
    assert len(response.headers["x-request-id"]) <= 64
