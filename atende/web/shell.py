"""The shell every page shares: the Jinja environment, assets, catalogs, and `render()`.

One `WebShell` is built at start-up and kept on `app.state.web`; pages call `render(request,
template, ...)`, which adds what every template needs: `t` in the request's locale, `asset()`,
the CSRF token, the signed-in principal and the current path (for the navigation).
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    select_autoescape,
)

from atende.core.access import Principal
from atende.core.accounts import MIN_PASSWORD
from atende.core.csrf import CSRF_FIELD, csrf_token_for
from atende.core.errors import Problem
from atende.web.assets import AssetManifest
from atende.web.i18n import LOCALES, Translator, load_catalogs, negotiate_locale

TEMPLATES_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True, slots=True)
class NavItem:
    path: str
    label_key: str
    icon: str


# Sections of the product; those not built yet show an honest "coming soon" page.
NAVIGATION = (
    NavItem("/dashboard", "nav.dashboard", "home"),
    NavItem("/inbox", "nav.inbox", "inbox"),
    NavItem("/contacts", "nav.contacts", "person"),
    NavItem("/agents", "nav.agents", "bot"),
    NavItem("/instances", "nav.instances", "phone"),
    NavItem("/sandbox", "nav.sandbox", "sandbox"),
    NavItem("/analytics", "nav.analytics", "chart"),
    NavItem("/settings/members", "nav.settings", "gear"),
)


class WebShell:
    def __init__(self, manifest: AssetManifest | None = None) -> None:
        self.assets = manifest or AssetManifest()
        self.catalogs = load_catalogs()
        # The shell's own templates first, then those of the modules that render pages.
        self._loaders: list[BaseLoader] = [FileSystemLoader(TEMPLATES_DIR)]
        self._template_dirs: set[Path] = set()
        self.env = Environment(
            loader=ChoiceLoader(self._loaders),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(
            asset=self.assets.url,
            navigation=NAVIGATION,
            locales=LOCALES,
            csrf_field=CSRF_FIELD,
        )

    def add_templates(self, directory: Path) -> None:
        """Lets a module's templates (in a folder named after it) extend the shell's layout."""
        directory = directory.resolve()
        if directory not in self._template_dirs:
            self._template_dirs.add(directory)
            self._loaders.append(FileSystemLoader(directory))

    def translator(self, request: Request) -> Translator:
        cached = getattr(request.state, "translator", None)
        if isinstance(cached, Translator):
            return cached
        translator = Translator(self.catalogs, negotiate_locale(request))
        request.state.translator = translator
        return translator


def shell_of(request: Request) -> WebShell:
    shell: WebShell = request.app.state.web
    return shell


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    shell = shell_of(request)
    t = shell.translator(request)
    principal: Principal | None = getattr(request.state, "principal", None)
    html = shell.env.get_template(template).render(
        request=request,
        t=t,
        html_lang=t.html_lang,
        locale=t.locale,
        csrf_token=csrf_token_for(request),
        principal=principal,
        current_path=request.url.path,
        **context,
    )
    # Pages show personal data and one-time secrets: never keep them in shared caches.
    headers = {"Cache-Control": "no-store", "Vary": "Cookie, Accept-Language, HX-Request"}
    return HTMLResponse(html, status_code=status_code, headers=headers)


Renderer = Callable[..., HTMLResponse]


def templates_for(directory: Path) -> Renderer:
    """`render()` for a feature module: its `templates/` folder is searched after the shell's,
    so its pages `{% extends "app.html" %}` and use the shell's macros and catalogs. Modules
    keep their templates in a subfolder named after them (`whatsapp/instances.html`)."""

    def render_page(
        request: Request, template: str, *, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        shell_of(request).add_templates(directory)
        return render(request, template, status_code=status_code, **context)

    return render_page


def safe_next(target: str | None, default: str = "/dashboard") -> str:
    """Only a path on this site: no scheme, no host, no `//evil` or `/\\evil` tricks."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ord(ch) < 0x20 or ch == "\\" for ch in target) or len(target) > 2000:
        return default
    return target


def redirect(request: Request, url: str) -> HTMLResponse | RedirectResponse:
    """303 after a form; htmx requests get `HX-Location` so only the page body is swapped."""
    if is_htmx(request) and not request.headers.get("hx-boosted"):
        return HTMLResponse("", headers={"HX-Location": url})
    return RedirectResponse(url, status_code=303)


def login_redirect(request: Request) -> HTMLResponse | RedirectResponse:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = "/login" if path in ("/", "/dashboard") else f"/login?next={quote(safe_next(path))}"
    if is_htmx(request):  # a full load: the signed-out shell differs from the signed-in one
        return HTMLResponse("", headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def problem_message(t: Translator, problem: Problem, context: str = "") -> str:
    """A service's failure in the user's language: by context and code, field, or status."""
    field = str(problem.extensions.get("field", ""))
    for key in (
        f"{context}.error.{problem.code}" if context else "",
        f"problem.{problem.code}.{field}" if field else "",
        f"problem.{problem.code}",
        f"problem.status.{problem.status}",
    ):
        if key and t.has(key):
            return t(key, min=MIN_PASSWORD)
    return t("problem.generic")
