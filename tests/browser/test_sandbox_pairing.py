"""In a real browser: pair a sandbox number on the instances page, scan it from the simulated
phone in a second tab, watch the first tab turn "Connected" by itself, then chat as a customer.

Live means over the page's event stream: no reload, no navigation, no polling.
"""

import re

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.support import SCREENSHOTS, chromium
from tests.browser.test_dashboard_live import LOCALES, WIDTHS, sign_up_in_browser
from tests.support.server import Server
from tests.support.tenants import sign_in, unique_email

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

CUSTOMER = "+5511987650000"  # the simulator's suggested first customer


async def watch_for_reloads(page: Page) -> list[str]:
    navigations: list[str] = []
    page.on(
        "framenavigated",
        lambda frame: navigations.append(frame.url) if frame == page.main_frame else None,
    )
    await page.evaluate("window.__sameDocument = true")
    return navigations


async def test_pairing_turns_connected_live_and_the_customer_chats(server: Server) -> None:
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        instances = await context.new_page()
        errors: list[str] = []
        instances.on("pageerror", lambda error: errors.append(str(error)))
        email = unique_email("pairing-owner")
        await sign_up_in_browser(instances, server.base_url, email)

        await (
            instances.get_by_role("navigation", name="Main")
            .get_by_role("link", name="Instances")
            .click()
        )
        await instances.wait_for_url("**/instances")
        await expect(instances.get_by_role("heading", name="Connect a number")).to_be_visible()
        # Each provider shows its own settings (CSS alone, from the chosen option).
        await expect(instances.get_by_label("Server URL")).to_be_hidden()
        await instances.get_by_label("Provider").select_option("evolution")
        await expect(instances.get_by_label("Server URL")).to_be_visible()
        await instances.get_by_label("Provider").select_option("sandbox")
        await instances.get_by_label("Name", exact=True).fill("Loja Centro")
        await instances.get_by_role("button", name="Add number").click()
        card = instances.locator(".instance-card", has_text="Loja Centro")
        await expect(card.locator(".pill")).to_have_text("Disconnected")

        await card.get_by_role("button", name="Connect").click()
        panel = instances.locator("#pairing-panel")
        await expect(panel.locator("svg.qr")).to_be_visible()
        await expect(panel.locator("[data-countdown]")).to_contain_text(re.compile(r"\d+ s"))
        assert instances.url.endswith("/instances?pair=" + instances.url.rsplit("=", 1)[1])
        instance_id = int(instances.url.rsplit("=", 1)[1])
        await expect(card.locator(".pill")).to_have_text("Waiting for scan")
        await instances.wait_for_selector("html[data-live=open]")
        navigations = await watch_for_reloads(instances)

        phone = await context.new_page()
        phone.on("pageerror", lambda error: errors.append(str(error)))
        await phone.goto(server.base_url + "/sandbox")
        await phone.get_by_role("button", name="Scan the QR code").click()
        await phone.wait_for_url(f"**/sandbox/{instance_id}")

        # The first tab learns it from the event stream alone.
        await expect(panel).to_contain_text("Connected", timeout=10_000)
        await expect(panel.locator("svg.qr")).to_have_count(0)
        await expect(card.locator(".pill")).to_have_text("Connected")
        assert await instances.evaluate("window.__sameDocument === true"), "the page reloaded"
        assert navigations == [], navigations

        await chat_as_customer(phone, server.base_url, email, instance_id)
        assert errors == []
        await context.close()

        await take_screenshots(browser, server.base_url, email, instance_id)


async def chat_as_customer(phone: Page, base_url: str, email: str, instance_id: int) -> None:
    await phone.get_by_role("button", name="Chat as this customer").click()
    await phone.wait_for_url(re.compile(r".*/sandbox/\d+\?.*customer="))
    await phone.wait_for_selector("html[data-live=open]")
    navigations = await watch_for_reloads(phone)
    composer = phone.get_by_label("Message", exact=True)
    await composer.fill("Oi! Vocês abrem no sábado?")
    await composer.press("Enter")
    chat = phone.locator("#chat")
    await expect(chat.locator(".bubble.mine")).to_have_text(re.compile("Vocês abrem no sábado"))
    await expect(composer).to_have_value("")  # emptied, ready for the next message

    owner = await sign_in(base_url, email)
    try:
        stored = (await owner.get(f"/api/v1/sandbox/{instance_id}/messages")).json()
        assert [(c["customer"], [m["text"] for m in c["messages"]]) for c in stored] == [
            (CUSTOMER, ["Oi! Vocês abrem no sábado?"])
        ]
        await answer_from_atende(owner, phone)
    finally:
        await owner.aclose()

    # The typing indicator follows `agent.typing` events of this number.
    await phone.evaluate(
        """id => document.dispatchEvent(new CustomEvent("htmx:sseMessage", {detail: {
            type: "agent.typing", data: JSON.stringify({data: {instance_id: id}})}}))""",
        instance_id,
    )
    await expect(phone.locator("[data-typing]")).to_be_visible()
    assert await phone.evaluate("window.__sameDocument === true")
    assert navigations == [], navigations


async def answer_from_atende(owner: httpx.AsyncClient, phone: Page) -> None:
    """An operator answers through the API: the bubble arrives live and ends with blue ticks
    (the open chat marks it read, as a phone does)."""
    conversations = (await owner.get("/api/v1/conversations")).json()["items"]
    sent = await owner.post(
        f"/api/v1/conversations/{conversations[0]['id']}/messages",
        json={"text": "Abrimos sim, das 9h às 13h."},
    )
    assert sent.status_code == 202, sent.text
    bubble = phone.locator(".bubble.theirs", has_text="Abrimos sim")
    await expect(bubble).to_be_visible(timeout=10_000)
    await expect(bubble).to_have_attribute("data-status", "read", timeout=10_000)


async def take_screenshots(browser: Browser, base_url: str, email: str, connected: int) -> None:
    """The instances page with the pairing panel open, and the sandbox phone mid-chat."""
    owner = await sign_in(base_url, email)
    try:
        created = await owner.post("/api/v1/instances", json={"name": "Loja Norte"})
        pairing = created.json()["id"]
        await owner.post(f"/api/v1/instances/{pairing}/connect")
        state = {"cookies": [_cookie(base_url, c.name, c.value) for c in owner.cookies.jar]}
    finally:
        await owner.aclose()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for locale, accept in LOCALES.items():
        for width in WIDTHS:
            context = await browser.new_context(
                viewport={"width": width, "height": 800}, locale=accept, storage_state=state
            )
            await context.add_cookies([_cookie(base_url, "atende_lang", locale)])
            page = await context.new_page()
            await shoot(page, f"{base_url}/instances?pair={pairing}", f"instances-{locale}-{width}")
            await shoot(
                page,
                f"{base_url}/sandbox/{connected}?customer={CUSTOMER}",
                f"sandbox-{locale}-{width}",
            )
            await context.close()


def _cookie(base_url: str, name: str, value: str) -> dict[str, object]:
    host = base_url.split("//", 1)[1].split(":", 1)[0]
    return {"name": name, "value": value, "domain": host, "path": "/", "expires": -1,
            "httpOnly": False, "secure": False, "sameSite": "Lax"}  # fmt: skip


async def shoot(page: Page, url: str, name: str) -> None:
    await page.goto(url)
    width = page.viewport_size["width"] if page.viewport_size else 0
    overflow = await page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= width, f"{name}: the page is {overflow}px wide in a {width}px window"
    await page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
