"""The application factory: composes the modules into one ASGI app."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import Depends, FastAPI

from atende import __version__
from atende.agents import pages as agent_pages
from atende.agents import routes as agent_routes
from atende.agents import service as agents_service
from atende.agents import tool_routes as agent_tool_routes
from atende.agents import why_pages
from atende.agents.brains.http_pool import close_shared_http_client
from atende.agents.indexing import KnowledgeIndexer
from atende.agents.knowledge import INDEX_JOB
from atende.agents.pipeline import ReplyPipeline
from atende.core import directory, health
from atende.core import routes as core_routes
from atende.core.csrf import csrf_protect
from atende.core.db import Database
from atende.core.jobs_runner import JobRunner
from atende.core.keys import load_secret_keys
from atende.core.logging import configure_logging
from atende.core.metrics import Metrics
from atende.core.middleware import BodyLimitMiddleware, RequestContextMiddleware
from atende.core.problems import install_error_handlers
from atende.core.ratelimit import LoginRateLimiter
from atende.core.security import SecretBox
from atende.core.settings import Settings, get_settings
from atende.inbox import (
    canned_pages,
    contact_pages,
    contact_routes,
    label_pages,
    label_routes,
    list_pages,
    media_routes,
    note_pages,
    view_routes,
)
from atende.inbox import pages as inbox_pages
from atende.inbox import routes as inbox_routes
from atende.inbox.inbound import REPLY_DUE_JOB
from atende.inbox.inbound_writer import InboundWriter
from atende.realtime.bus import EventBus, InProcessBus
from atende.realtime.hub import Hub
from atende.realtime.redis_bus import RedisBus
from atende.realtime.retention import retention_loop
from atende.realtime.routes import event_routes
from atende.web import setup_web
from atende.web.errors import render_error_page
from atende.whatsapp import service as whatsapp_service
from atende.whatsapp.runtime import setup_whatsapp

RETENTION_SWEEP_SECONDS = 600.0


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    _provide_lookups()
    database = Database(settings.resolved_database_url)
    metrics = Metrics()
    bus: EventBus = RedisBus(settings.event_bus_url) if settings.event_bus_url else InProcessBus()
    hub = Hub(database, metrics, settings.sse_heartbeat_seconds)
    jobs = JobRunner(database)
    inbound_writer = InboundWriter(database)

    def announce(pending: dict[int, int], count: int) -> None:
        metrics.events_published.inc(count)
        bus.publish(pending)

    database.add_commit_listener(announce)
    bus.subscribe(hub.on_published)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await bus.start()
        await hub.start()
        for part in (jobs, inbound_writer, whatsapp):  # whatsapp queues work for the runner
            await part.start()
        retention = asyncio.create_task(
            retention_loop(
                database,
                retention=timedelta(hours=settings.event_retention_hours),
                every=RETENTION_SWEEP_SECONDS,
            )
        )
        try:
            yield
        finally:
            retention.cancel()
            await jobs.stop()
            await inbound_writer.stop()
            await hub.stop()
            await bus.stop()
            await _app.state.login_limiter.aclose()
            await whatsapp.aclose()
            await close_shared_http_client()
            await database.dispose()

    app = FastAPI(
        title="Atende",
        version=__version__,
        lifespan=lifespan,
        dependencies=[Depends(csrf_protect)],
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.metrics = metrics
    app.state.bus = bus
    app.state.hub = hub
    app.state.jobs = jobs
    app.state.secret_box = SecretBox(load_secret_keys(settings))
    app.state.login_limiter = LoginRateLimiter(
        settings.login_rate_limit, settings.rate_limit_storage
    )

    install_error_handlers(app, render_error_page)
    app.router.routes.extend(event_routes(hub))
    for module in (
        health,
        core_routes,
        inbox_routes,
        view_routes,
        contact_routes,
        label_routes,
        # Before the inbox pages: their `/inbox/{conversation_id}` would take these paths.
        list_pages,
        label_pages,
        contact_pages,
        note_pages,
        canned_pages,
        inbox_pages,
        media_routes,
    ):
        app.include_router(module.router)
    whatsapp = setup_whatsapp(
        app,
        settings=settings,
        database=database,
        box=app.state.secret_box,
        jobs=jobs,
        inbound_writer=inbound_writer,
    )
    for agents_router in (
        agent_routes.router,
        agent_tool_routes.router,
        agent_pages.router,
        why_pages.router,
    ):
        app.include_router(agents_router)
    _register_jobs(jobs, database, app.state.secret_box, settings)
    setup_web(app, settings)
    _add_middleware(app, settings, metrics)
    return app


def _register_jobs(jobs: JobRunner, database: Database, box: SecretBox, settings: Settings) -> None:
    jobs.register(REPLY_DUE_JOB, ReplyPipeline(database, box, settings))
    jobs.register(INDEX_JOB, KnowledgeIndexer(database))


def _provide_lookups() -> None:
    """What modules learn of each other through `core.directory` (see there why)."""
    directory.provide_agent_name(agents_service.agent_name)
    directory.provide_instance_names(whatsapp_service.instance_names)
    directory.provide_agent_of_instance(whatsapp_service.agent_of_instance)
    directory.provide_instances_of_agent(whatsapp_service.instances_of_agent)


def _add_middleware(app: FastAPI, settings: Settings, metrics: Metrics) -> None:
    upload_limit = settings.media_max_bytes + 65_536  # the file and its multipart envelope
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        per_path={
            "/webhooks/": settings.webhook_max_body_bytes,
            r"/api/v1/conversations/\d+/attachments$": upload_limit,
            r"/api/v1/agents/\d+/knowledge$": upload_limit,
            r"/agents/\d+/knowledge/file$": upload_limit,  # the editor's upload (up to 10 MB)
            # The simulated phone sends files too (as base64 through the API).
            r"(/api/v1)?/sandbox/\d+/messages$": upload_limit * 4 // 3 + 65_536,
        },
    )
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
