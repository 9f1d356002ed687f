"""The WhatsApp module's per-process parts, created once by the app and kept in its state."""

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request

from atende.core.db import Database
from atende.core.jobs_runner import JobRunner
from atende.core.ratelimit import async_rate_storage, close_rate_storage
from atende.core.security import SecretBox
from atende.core.settings import Settings
from atende.inbox.inbound_writer import InboundWriter
from atende.inbox.media import FETCH_MEDIA_JOB
from atende.inbox.service import SEND_JOB
from atende.whatsapp.intake import Intake
from atende.whatsapp.media_fetch import MediaFetcher
from atende.whatsapp.presence import PRESENCE_JOB, PresenceSender
from atende.whatsapp.providers.registry import Providers
from atende.whatsapp.reconcile import RECONCILE_JOB, Reconciler, enqueue_reconciliation
from atende.whatsapp.sender import Sender


@dataclass
class WhatsApp:
    providers: Providers
    intake: Intake
    sender: Sender
    box: SecretBox
    base_url: str

    async def start(self) -> None:
        await enqueue_reconciliation(self.intake.database)

    async def aclose(self) -> None:
        await self.providers.aclose()
        await close_rate_storage(self.sender.rate_storage)


def whatsapp_of(request: Request) -> WhatsApp:
    whatsapp: WhatsApp = request.app.state.whatsapp
    return whatsapp


def setup_whatsapp(
    app: FastAPI,
    *,
    settings: Settings,
    database: Database,
    box: SecretBox,
    jobs: JobRunner,
    inbound_writer: InboundWriter,
) -> WhatsApp:
    from atende.whatsapp import pages, sandbox_pages
    from atende.whatsapp.routes import router, webhook_routes, webhooks
    from atende.whatsapp.sandbox_routes import router as sandbox_router

    providers = Providers(cloud_graph_url=settings.cloud_graph_url)
    intake = Intake(
        database=database,
        providers=providers,
        box=box,
        base_url=settings.base_url,
        media_root=Path(settings.data_dir) / "media",
        media_max_bytes=settings.media_max_bytes,
        writer=inbound_writer,
    )
    sender = Sender(
        database=database,
        providers=providers,
        box=box,
        base_url=settings.base_url,
        rate=settings.send_rate_limit,
        rate_storage=async_rate_storage(settings.rate_limit_storage),
        media_root=Path(settings.data_dir) / "media",
    )
    jobs.register(SEND_JOB, sender)
    jobs.register(RECONCILE_JOB, Reconciler(database, providers, box, settings.base_url))
    jobs.register(PRESENCE_JOB, PresenceSender(database, providers, box, settings.base_url))
    jobs.register(FETCH_MEDIA_JOB, MediaFetcher.from_settings(settings, database, providers, box))
    whatsapp = WhatsApp(providers, intake, sender, box, settings.base_url)
    app.state.whatsapp = whatsapp
    app.include_router(router)
    app.include_router(sandbox_router)
    app.include_router(webhooks)
    # First in line: matched before the many API and page routes.
    app.router.routes[0:0] = webhook_routes()
    app.include_router(pages.router)
    app.include_router(sandbox_pages.router)
    return whatsapp
