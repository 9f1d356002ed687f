"""Prometheus metrics of one process (served at `/metrics`)."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector


class Metrics:
    """One registry per app instance, so several apps in one test process don't collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.requests = Counter(
            "atende_http_requests_total",
            "HTTP requests by route template, method and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "atende_http_request_duration_seconds",
            "Time to the end of the response, by route template.",
            ["method", "route"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "atende_http_requests_in_flight",
            "Requests being handled (long-lived streams excluded).",
            registry=self.registry,
        )
        self.events_published = Counter(
            "atende_events_published_total",
            "Events committed and announced on the bus by this process.",
            registry=self.registry,
        )
        self.events_delivered = Counter(
            "atende_events_delivered_total",
            "Event deliveries written to SSE clients of this process.",
            registry=self.registry,
        )
        self.sse_clients = Gauge(
            "atende_sse_clients_connected",
            "Server-Sent Events streams open on this process.",
            registry=self.registry,
        )
        self.sse_dropped = Counter(
            "atende_sse_clients_dropped_total",
            "SSE clients disconnected because they fell too far behind.",
            registry=self.registry,
        )
