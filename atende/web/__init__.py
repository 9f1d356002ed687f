"""The web shell: layout, navigation, static assets, i18n, and the core's own pages."""

from fastapi import FastAPI

from atende.core.settings import Settings


def setup_web(app: FastAPI, settings: Settings) -> None:
    from atende.web.pages import router

    app.include_router(router)
