"""In a real browser: sign up through the pages, watch the dashboard update live, screenshot.

The member who joins is added from outside (through the API), and must appear in the open
dashboard's activity panel by itself: no reload, no navigation, no polling.
"""

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.browser.support import SCREENSHOTS, chromium
from tests.support.server import Server
from tests.support.tenants import PASSWORD, session_client, sign_in, unique_email

pytestmark = [
    pytest.mark.browser,
    # One backend is enough for the browser: the live path above the database is the same.
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

WIDTHS = (1280, 360)
LOCALES = {"en": "en-US", "pt_BR": "pt-BR"}
SIGNED_IN_PAGES = {
    "dashboard": "/dashboard",
    "members": "/settings/members",
    "invitations": "/settings/invitations",
    "api-keys": "/settings/api-keys",
}


async def sign_up_in_browser(page: Page, base_url: str, email: str) -> None:
    await page.goto(base_url + "/login")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    # The 401 answer is swapped in by htmx: the form comes back with the reason.
    await expect(page.get_by_role("alert")).to_contain_text("do not match")
    await page.get_by_role("link", name="Create one").click()
    await page.wait_for_url("**/signup")
    await page.get_by_label("Name").fill("Browser Owner")
    await page.get_by_label("Organisation").fill("Café Aurora")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await page.wait_for_url("**/dashboard")


async def invite_and_accept(base_url: str, owner_email: str, name: str) -> None:
    """From outside the browser: the owner invites someone, who accepts through the API."""
    owner = await sign_in(base_url, owner_email)
    joiner = session_client(base_url)
    try:
        invite = await owner.post(
            "/api/v1/invitations", json={"email": unique_email("joiner"), "role": "operator"}
        )
        assert invite.status_code == 201, invite.text
        token = invite.json()["url"].rsplit("/", 1)[1]
        accepted = await joiner.post(
            f"/api/v1/invitations/{token}/accept", json={"name": name, "password": PASSWORD}
        )
        assert accepted.status_code == 200, accepted.text
    finally:
        await owner.aclose()
        await joiner.aclose()


async def test_dashboard_shows_a_new_member_live(server: Server) -> None:
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 1280, "height": 800})
        page = await context.new_page()
        page_errors: list[str] = []
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        owner_email = unique_email("browser-owner")

        await sign_up_in_browser(page, server.base_url, owner_email)
        await page.wait_for_selector("html[data-live=open]")  # the event stream is open
        await expect(page.locator("#live-banner")).to_be_hidden()

        navigations: list[str] = []
        page.on(
            "framenavigated",
            lambda frame: navigations.append(frame.url) if frame == page.main_frame else None,
        )
        await page.evaluate("window.__sameDocument = true")

        await invite_and_accept(server.base_url, owner_email, "Zélia Live")

        await expect(page.locator("#activity")).to_contain_text("Zélia Live joined as Operator")
        assert await page.evaluate("window.__sameDocument === true"), "the page was reloaded"
        assert navigations == [], navigations

        await check_connection_banner(page)
        await check_boosted_navigation(page)
        assert page_errors == []

        await take_screenshots(browser, context, server.base_url)
        await context.close()


async def check_connection_banner(page: Page) -> None:
    """The banner follows the stream's own events (app.js listens to the SSE extension's)."""
    stream = page.locator("[sse-connect]")
    await stream.dispatch_event("htmx:sseError")
    await expect(page.locator("#live-banner")).to_be_visible()
    await expect(page.locator("#live-banner")).to_contain_text("Live updates paused")
    await stream.dispatch_event("htmx:sseOpen")
    await expect(page.locator("#live-banner")).to_be_hidden()


async def check_boosted_navigation(page: Page) -> None:
    """Links swap the page body (hx-boost) and keep the URL right, without a reload."""
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    await page.wait_for_url("**/settings/members")
    await expect(page.locator("h2#members-title")).to_be_visible()
    assert await page.evaluate("window.__sameDocument === true")
    await expect(page.locator("#member-list")).to_contain_text("Zélia Live")
    # Managers change roles in place: the form posts with htmx and only the list is swapped.
    # Taking away the only owner is refused first (no event, so no live refresh races it).
    await page.get_by_label("Role of Browser Owner").select_option("operator")
    await page.locator("tr", has_text="Browser Owner").get_by_role("button", name="Save").click()
    await expect(page.locator("#member-error .alert")).to_contain_text("at least one owner")
    await page.get_by_label("Role of Zélia Live").select_option("admin")
    await page.locator("tr", has_text="Zélia Live").get_by_role("button", name="Save").click()
    await expect(page.locator("#member-error .alert")).to_have_count(0)
    await expect(page.get_by_label("Role of Zélia Live")).to_have_value("admin")
    assert await page.evaluate("window.__sameDocument === true")


async def take_screenshots(browser: Browser, signed_in: BrowserContext, base_url: str) -> None:
    """Each screen at desktop and phone width, in both languages, for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    state = await signed_in.storage_state()
    for locale, accept in LOCALES.items():
        for width in WIDTHS:
            viewport = {"width": width, "height": 800}
            lang_cookie = {"name": "atende_lang", "value": locale, "url": base_url}
            stranger = await browser.new_context(viewport=viewport, locale=accept)
            await stranger.add_cookies([lang_cookie])
            page = await stranger.new_page()
            await shoot(page, base_url + "/login", f"login-{locale}-{width}", width)
            await stranger.close()

            member = await browser.new_context(
                viewport=viewport,
                locale=accept,
                storage_state=state,
            )
            await member.add_cookies([lang_cookie])
            page = await member.new_page()
            for name, path in SIGNED_IN_PAGES.items():
                await shoot(page, base_url + path, f"{name}-{locale}-{width}", width)
            await page.goto(base_url + "/dashboard")
            await page.emulate_media(color_scheme="dark")
            await page.screenshot(path=SCREENSHOTS / f"dashboard-dark-{locale}-{width}.png")
            await page.emulate_media(color_scheme="light")
            if width < 768:
                await page.goto(base_url + "/dashboard")
                await page.locator("[data-menu-toggle]").click()
                await expect(page.locator("#nav")).to_be_visible()
                await page.screenshot(path=SCREENSHOTS / f"dashboard-menu-{locale}-{width}.png")
            await member.close()


async def shoot(page: Page, url: str, name: str, width: int) -> None:
    await page.goto(url)
    overflow = await page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= width, f"{name}: the page is {overflow}px wide in a {width}px window"
    await page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
