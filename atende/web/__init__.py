"""The web shell: layout, navigation, static assets, i18n, and the core's own pages."""

from fastapi import FastAPI

from atende.core.settings import Settings
from atende.web import auth_pages, pages, settings_pages
from atende.web.assets import asset_routes
from atende.web.guards import SignInRequired, on_sign_in_required
from atende.web.shell import WebShell


def setup_web(app: FastAPI, settings: Settings) -> None:
    shell = WebShell()  # reads, hashes and compresses the assets once, at start-up
    app.state.web = shell
    # More specific than the core's handler for all problems: pages redirect to sign in.
    app.add_exception_handler(SignInRequired, on_sign_in_required)
    app.include_router(asset_routes(shell.assets))
    app.include_router(auth_pages.router)
    app.include_router(pages.router)
    app.include_router(settings_pages.router)
