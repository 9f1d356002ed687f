"""The home page, the live dashboard, placeholders of sections to come, and the offline page."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from atende.core import accounts
from atende.core.deps import DbSession, OptionalPrincipal
from atende.web.activity import recent_activity
from atende.web.guards import PagePrincipal
from atende.web.i18n import LOCALES, Translator
from atende.web.shell import render, shell_of

router = APIRouter(include_in_schema=False)

# Sections of the product whose module has not shipped its pages yet: path -> title key.
COMING_SOON = {
    "/analytics": "nav.analytics",
}


@router.get("/")
async def home(principal: OptionalPrincipal) -> Response:
    target = "/dashboard" if principal is not None and not principal.is_api_key else "/login"
    return RedirectResponse(target, status_code=303)


@router.get("/dashboard")
async def dashboard(request: Request, principal: PagePrincipal, session: DbSession) -> Response:
    org = await accounts.get_organisation(session, org_id=principal.org_id)
    members = await accounts.list_members(session, org_id=principal.org_id)
    activity = await recent_activity(session, org_id=principal.org_id)
    return render(
        request,
        "dashboard.html",
        org_name=org.name,
        member_count=len(members),
        activity=activity,
    )


@router.get("/dashboard/activity")
async def dashboard_activity(
    request: Request, principal: PagePrincipal, session: DbSession
) -> Response:
    """The activity panel alone, fetched again whenever a live event says it changed."""
    activity = await recent_activity(session, org_id=principal.org_id)
    return render(request, "_activity.html", activity=activity)


def _coming_soon_route(path: str, title_key: str) -> None:
    async def coming_soon(request: Request, principal: PagePrincipal) -> Response:
        return render(request, "coming_soon.html", title_key=title_key)

    router.add_api_route(path, coming_soon, methods=["GET"], name=f"coming_soon:{path}")


for _path, _title_key in COMING_SOON.items():
    _coming_soon_route(_path, _title_key)


@router.get("/offline")
async def offline(request: Request) -> Response:
    """Pre-cached by the service worker and shown for navigations made without a network."""
    shell = shell_of(request)
    mine = shell.translator(request)
    # The worker keeps this one copy whatever the language chosen later: say it in both.
    others = [Translator(shell.catalogs, locale) for locale in LOCALES if locale != mine.locale]
    # Rendered without `render()`: a page kept by the worker must not carry a CSRF token.
    html = shell.env.get_template("offline.html").render(
        t=mine, html_lang=mine.html_lang, translations=[mine, *others]
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-cache", "Vary": "Accept-Language"})
