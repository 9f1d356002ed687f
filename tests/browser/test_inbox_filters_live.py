"""In a real browser: the inbox's search and filters live in the URL (reload keeps them), live
events respect them (a row that stops matching goes, a new match comes, the scroll stays), and
labels go on and off from the conversation header."""

import re

import pytest
from playwright.async_api import Page, expect

from tests.browser.support import SCREENSHOTS, chromium
from tests.browser.test_inbox_live import LIVE, no_overflow, open_live, signed_in_context
from tests.support.server import Server
from tests.support.tenants import Tenant
from tests.test_whatsapp_sandbox import paired_instance

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

SETTLED = "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"


async def customer(tenant: Tenant, instance_id: object, phone: str, name: str, text: str) -> int:
    sent = await tenant.client.post(
        f"/api/v1/sandbox/{instance_id}/messages", json={"from": phone, "name": name, "text": text}
    )
    assert sent.status_code == 201, sent.text
    page = (await tenant.client.get("/api/v1/conversations", params={"q": text})).json()
    return int(page["items"][0]["id"])


def rows(inbox: Page, name: str = "") -> object:
    return inbox.locator(".conv-row", has_text=name) if name else inbox.locator(".conv-row")


async def test_filters_in_the_url_live_rows_and_header_labels(
    server: Server, tenant: Tenant
) -> None:
    instance = await paired_instance(tenant)
    shop = instance["id"]
    vip = await tenant.client.post("/api/v1/labels", json={"name": "VIP", "colour": "purple"})
    vip_id = vip.json()["id"]
    ana = await customer(tenant, shop, "+5511987651001", "Ana", "A entrega chega hoje?")
    bruno = await customer(tenant, shop, "+5511987651002", "Bruno", "Oi, tudo bem?")
    async with chromium() as browser:
        context = await signed_in_context(browser, server.base_url, tenant, 1280)
        errors: list[str] = []
        inbox = await context.new_page()
        inbox.on("pageerror", lambda error: errors.append(str(error)))
        await open_live(inbox, server.base_url + "/inbox")
        list_ = inbox.locator("#conv-list .conv-row")
        await expect(list_).to_have_count(2)

        # Words: only Ana's conversation; the address says so, and a reload keeps it.
        await inbox.keyboard.press("/")
        await expect(inbox.get_by_label("Search messages")).to_be_focused()
        await inbox.keyboard.type("entrega")
        await inbox.wait_for_url(re.compile(r".*/inbox\?q=entrega$"))
        await expect(list_).to_have_count(1)
        await expect(list_.first).to_contain_text("Ana")
        await inbox.reload()
        await inbox.wait_for_selector("html[data-live=open]")
        await expect(inbox.get_by_label("Search messages")).to_have_value("entrega")
        await expect(list_).to_have_count(1)

        # Live with the search on: a new non-matching conversation stays out, a matching one
        # comes in (events arrive in order, so once Carla is shown Davi's was turned away).
        await customer(tenant, shop, "+5511987651003", "Davi", "Qual o preço?")
        await customer(tenant, shop, "+5511987651004", "Carla", "Sobre a entrega de ontem")
        await expect(list_.filter(has_text="Carla")).to_have_count(1, timeout=LIVE)
        await expect(list_.filter(has_text="Davi")).to_have_count(0)
        await inbox.evaluate("window.__sameDocument = true")
        await inbox.go_back()  # before the search: everything, as it is now
        await inbox.wait_for_url(re.compile(r".*/inbox$"))
        await expect(list_).to_have_count(4)
        await expect(inbox.get_by_label("Search messages")).to_have_value("")

        # The label filter: nothing labelled yet; labelling Bruno (elsewhere) brings him in,
        # unlabelling takes him out again, and the page never reloads.
        await inbox.get_by_label("Label", exact=True).select_option(label="VIP")
        await inbox.wait_for_url(re.compile(rf".*/inbox\?label={vip_id}$"))
        await expect(list_).to_have_count(0)
        await expect(inbox.locator(".list-empty")).to_contain_text("No conversation matches")
        url = f"/api/v1/conversations/{bruno}/labels"
        await tenant.client.post(url, json={"label_id": vip_id})
        await expect(list_.filter(has_text="Bruno")).to_have_count(1, timeout=LIVE)
        await expect(list_.first.locator(".chip")).to_have_text("VIP")
        await tenant.client.delete(f"{url}/{vip_id}")
        await expect(list_).to_have_count(0, timeout=LIVE)

        # From the header: open Ana (all labels again), put VIP on her; the chip shows in
        # the header and on her row, and the VIP filter then lists her.
        await inbox.get_by_label("Label", exact=True).select_option(label="All labels")
        await inbox.wait_for_url(re.compile(r".*/inbox$"))
        await list_.filter(has_text="Ana").get_by_role("link").click()
        await inbox.wait_for_url(re.compile(rf".*/inbox/{ana}$"))
        # The URL changes before the pane has settled: a choice made in a header htmx has not
        # yet taken over is never sent (as a person's would not be, that fast).
        await inbox.wait_for_function(SETTLED)
        head = inbox.locator("#conv-head")
        await head.get_by_label("Add label").select_option(label="VIP")
        await expect(head.locator(".chip")).to_contain_text("VIP")
        ana_row = list_.filter(has_text="Ana")
        await expect(ana_row.locator(".chip")).to_have_text("VIP", timeout=LIVE)
        # Renamed elsewhere: the row's and the header's chips follow.
        await tenant.client.patch(f"/api/v1/labels/{vip_id}", json={"name": "Gold"})
        await expect(ana_row.locator(".chip")).to_have_text("Gold", timeout=LIVE)
        await expect(head.locator(".chip")).to_contain_text("Gold", timeout=LIVE)
        await head.get_by_role("button", name="Assign to me").click()
        await expect(head.get_by_label("Assignee")).to_have_value(str(tenant.user_id))
        await expect(ana_row).to_contain_text("Owner", timeout=LIVE)
        await inbox.get_by_label("Assigned to", exact=True).select_option(label="Assigned to me")
        await inbox.wait_for_url(re.compile(rf".*/inbox/{ana}\?assignee=me$"))
        await expect(list_).to_have_count(1)
        await head.get_by_role("button", name="Remove label Gold").click()
        await expect(head.locator(".chip")).to_have_count(0)
        await expect(ana_row.locator(".chip")).to_have_count(0, timeout=LIVE)

        assert await inbox.evaluate("window.__sameDocument === true"), "the inbox reloaded"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await no_overflow(inbox, "inbox with filters")
        await inbox.screenshot(path=SCREENSHOTS / "inbox-filters-en-1280.png")
        assert errors == []
        await context.close()

        # The labels and contacts pages at phone and desktop widths, in both languages.
        contact = (await tenant.client.get(f"/api/v1/conversations/{ana}")).json()["contact"]
        await tenant.client.patch(f"/api/v1/contacts/{contact['id']}", json={"labels": [vip_id]})
        pages = {
            "labels": "/labels",
            "contacts": "/contacts",
            "contact": f"/contacts/{contact['id']}",
        }
        for locale in ("en", "pt_BR"):
            for width in (360, 1280):
                context = await signed_in_context(browser, server.base_url, tenant, width, locale)
                page = await context.new_page()
                for name, path in pages.items():
                    await page.goto(server.base_url + path)
                    await expect(page.locator(".chip", has_text="Gold").first).to_be_visible()
                    await no_overflow(page, f"{name} {locale} {width}")
                    await page.screenshot(path=SCREENSHOTS / f"{name}-{locale}-{width}.png")
                await context.close()
