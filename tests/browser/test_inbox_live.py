"""In a real browser, two pages side by side: the sandbox phone and the inbox.

The customer writes on the phone and the inbox shows it in the list and in the open
conversation by itself; the operator answers from the inbox and the phone gets it; the phone
reads it and the ticks turn blue; take over / return to bot switch live. Then the same inbox
at 360 px (list, then the conversation full screen), and screenshots in both languages.
"""

import re
from urllib.parse import quote

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.browser.support import SCREENSHOTS, chromium
from tests.browser.test_dashboard_live import LOCALES, WIDTHS
from tests.browser.test_sandbox_pairing import _cookie, watch_for_reloads
from tests.support.server import Server
from tests.support.tenants import Tenant
from tests.test_whatsapp_sandbox import paired_instance

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

CUSTOMER = "+5511987650000"
LIVE = 10_000


async def signed_in_context(
    browser: Browser, base_url: str, tenant: Tenant, width: int, locale: str = "en"
) -> BrowserContext:
    cookies = [_cookie(base_url, c.name, c.value) for c in tenant.client.cookies.jar]
    context = await browser.new_context(
        viewport={"width": width, "height": 800 if width > 400 else 740},
        locale=LOCALES[locale],
        storage_state={"cookies": cookies},  # type: ignore[typeddict-item]
    )
    await context.add_cookies([_cookie(base_url, "atende_lang", locale)])  # type: ignore[list-item]
    return context


async def open_live(page: Page, url: str) -> None:
    await page.goto(url)
    await page.wait_for_selector("html[data-live=open]")


async def test_phone_and_inbox_side_by_side(server: Server, tenant: Tenant) -> None:
    instance = await paired_instance(tenant)
    instance_id = int(str(instance["id"]))
    async with chromium() as browser:
        context = await signed_in_context(browser, server.base_url, tenant, 1280)
        errors: list[str] = []
        inbox = await context.new_page()
        inbox.on("pageerror", lambda error: errors.append(str(error)))
        await open_live(inbox, server.base_url + "/inbox")
        await expect(inbox.get_by_role("heading", name="No conversations yet")).to_be_visible()
        await watch_for_reloads(inbox)

        phone = await context.new_page()
        phone.on("pageerror", lambda error: errors.append(str(error)))
        await open_live(
            phone, f"{server.base_url}/sandbox/{instance_id}?customer={quote(CUSTOMER)}&name=Maria"
        )
        await say(phone, "Oi! Vocês entregam no centro?")

        # The list learns of the new conversation by itself; opening it keeps the page.
        row = inbox.locator(".conv-row", has_text="Maria")
        await expect(row).to_contain_text("Vocês entregam no centro?", timeout=LIVE)
        await expect(inbox.locator(".list-empty")).to_be_hidden()
        await row.get_by_role("link").click()
        await inbox.wait_for_url(re.compile(r".*/inbox/\d+$"))
        thread = inbox.locator("#thread")
        await expect(thread.locator(".msg.in")).to_have_text(re.compile("Vocês entregam"))
        await expect(inbox.locator("#conv-head")).to_contain_text("Bot answering")

        # A second message arrives in the open conversation and moves the row's preview.
        await say(phone, "E qual o horário?")
        await expect(thread.locator(".msg.in").last).to_contain_text("qual o horário", timeout=LIVE)
        await expect(row).to_contain_text("E qual o horário?")

        # The operator answers: a bubble at once, the bot steps back, the phone gets it, and
        # when the phone shows it the ticks turn blue.
        reply = inbox.get_by_label("Reply", exact=True)
        await reply.fill("Entregamos sim! Das 9h às 18h.")
        await reply.press("Enter")
        mine = thread.locator(".msg.out", has_text="Entregamos sim")
        await expect(mine).to_have_count(1)
        await expect(reply).to_have_value("")
        await expect(inbox.locator("#conv-head")).to_contain_text("You are answering", timeout=LIVE)
        await expect(row.locator(".mode-dot")).to_have_class(re.compile("mode-human"))
        theirs = phone.locator(".bubble.theirs", has_text="Entregamos sim")
        await expect(theirs).to_be_visible(timeout=LIVE)
        await expect(mine).to_have_attribute("data-status", "read", timeout=LIVE)
        await expect(mine.locator(".tick")).to_have_class(re.compile("tick-read"))

        # A double submit sends once (one Idempotency-Key per attempt, one send at a time).
        await reply.fill("Só uma vez")
        await inbox.evaluate(
            "() => { const f = document.querySelector('[data-composer]');"
            " f.requestSubmit(); f.requestSubmit(); }"
        )
        await expect(thread.locator(".msg.out", has_text="Só uma vez")).to_have_count(1)
        await expect(phone.locator(".bubble.theirs", has_text="Só uma vez")).to_have_count(
            1, timeout=LIVE
        )

        # Handoff buttons switch the header and the row live.
        await inbox.get_by_role("button", name="Return to bot").click()
        await expect(inbox.locator("#conv-head")).to_contain_text("Bot answering")
        await expect(row.locator(".mode-dot")).to_have_class(re.compile("mode-bot"), timeout=LIVE)
        await inbox.get_by_role("button", name="Take over").click()
        await expect(inbox.locator("#conv-head")).to_contain_text("You are answering")
        await keyboard_moves_through_conversations(inbox, tenant, instance_id)

        assert await inbox.evaluate("window.__sameDocument === true"), "the inbox reloaded"
        conversation_id = int(inbox.url.rsplit("/", 1)[1].split("?")[0])
        assert errors == []
        await context.close()

        await phone_layout(browser, server.base_url, tenant)
        await take_screenshots(browser, server.base_url, tenant, conversation_id)


async def say(phone: Page, text: str) -> None:
    composer = phone.get_by_label("Message", exact=True)
    await composer.fill(text)
    await composer.press("Enter")
    await expect(phone.locator("#chat .bubble.mine", has_text=text)).to_be_visible()


async def keyboard_moves_through_conversations(
    inbox: Page, tenant: Tenant, instance_id: int
) -> None:
    """A second customer writes (through the API): j / k move between the two rows."""
    injected = await tenant.client.post(
        f"/api/v1/sandbox/{instance_id}/messages",
        json={"from": "+5511912340000", "name": "Joana", "text": "Bom dia"},
    )
    assert injected.status_code == 201
    rows = inbox.locator(".conv-row")
    await expect(rows).to_have_count(2, timeout=LIVE)
    await expect(rows.first).to_contain_text("Joana")  # newest activity first
    await inbox.locator("#thread").click()  # out of the composer
    await inbox.keyboard.press("k")
    await expect(inbox.locator("#conv-head")).to_contain_text("Joana")
    await expect(rows.first.get_by_role("link")).to_be_focused()
    await expect(rows.first.locator(".unread")).to_have_count(0, timeout=LIVE)  # opened: read
    await inbox.keyboard.press("j")
    await expect(inbox.locator("#conv-head")).to_contain_text("Maria")
    await expect(rows.nth(1).get_by_role("link")).to_have_attribute("aria-current", "true")


async def phone_layout(browser: Browser, base_url: str, tenant: Tenant) -> None:
    """At 360 px: the list, then the conversation full screen with a back arrow (and Esc)."""
    context = await signed_in_context(browser, base_url, tenant, 360)
    page = await context.new_page()
    await open_live(page, base_url + "/inbox")
    await no_overflow(page, "inbox list at 360")
    await expect(page.locator("#pane")).to_be_hidden()
    await page.locator(".conv-row", has_text="Maria").get_by_role("link").click()
    await expect(page.locator(".inbox-side")).to_be_hidden()
    await expect(page.locator("#thread")).to_be_visible()
    back = page.get_by_role("link", name="Back to conversations")
    await expect(back).to_be_visible()
    await no_overflow(page, "conversation at 360")
    await back.click()
    await expect(page.locator(".inbox-side")).to_be_visible()
    await page.locator(".conv-row", has_text="Maria").get_by_role("link").click()
    await expect(page.locator("#thread")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(page.locator(".inbox-side")).to_be_visible()
    await context.close()


async def no_overflow(page: Page, what: str) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    overflow = await page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= width, f"{what}: {overflow}px wide in a {width}px window"


async def take_screenshots(
    browser: Browser, base_url: str, tenant: Tenant, conversation_id: int
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for locale in LOCALES:
        for width in WIDTHS:
            context = await signed_in_context(browser, base_url, tenant, width, locale)
            page = await context.new_page()
            shots = {"inbox": "/inbox", "inbox-conversation": f"/inbox/{conversation_id}"}
            for name, path in shots.items():
                if width > 400 and name == "inbox":
                    continue  # at 1280 px the conversation page shows the list too
                await page.goto(base_url + path)
                await page.wait_for_selector("html[data-live=open]")
                await no_overflow(page, f"{name} {locale} {width}")
                await page.screenshot(path=SCREENSHOTS / f"{name}-{locale}-{width}.png")
            await context.close()
