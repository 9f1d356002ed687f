"""Runs the HTTP server (uvicorn) and ends live streams first when it shuts down."""

import gc

import uvicorn
from fastapi import FastAPI

from atende.core.settings import Settings
from atende.realtime.hub import Hub
from atende.realtime.sse import RawSendCapture


class AtendeServer(uvicorn.Server):
    async def startup(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        await super().startup(sockets)  # type: ignore[arg-type]
        # Everything allocated at start-up lives forever: keep it out of every GC pass, which
        # otherwise walks it on each full collection (pauses grow with thousands of streams).
        gc.collect()
        gc.freeze()

    async def shutdown(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        hub: Hub = self.config.loaded_app_state_hub  # type: ignore[attr-defined]
        hub.finish_all()
        await super().shutdown(sockets)  # type: ignore[arg-type]


def run_server(app: FastAPI, settings: Settings) -> None:
    config = uvicorn.Config(
        RawSendCapture(app),
        host=settings.host,
        port=settings.port,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=5,
        backlog=4096,
    )
    config.loaded_app_state_hub = app.state.hub  # type: ignore[attr-defined]
    AtendeServer(config).run()
