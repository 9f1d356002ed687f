"""In a real browser: a failed message is sent again from its bubble; an internal note
written in one inbox appears live in a colleague's, marked as a note; `/` + letters in the
composer offers the canned replies and Enter inserts the chosen one; the robot on an agent's
message opens "why" (model, tokens, passages) and Esc closes it. Screenshots in both
languages, and at 360 px."""

import pytest
from playwright.async_api import expect

from tests.browser.support import SCREENSHOTS, chromium
from tests.browser.test_inbox_live import open_live, signed_in_context
from tests.support.crossorg_resources import fail_message
from tests.support.fake_openai import FakeOpenAI
from tests.support.server import Server
from tests.support.tenants import Tenant
from tests.test_agents_pipeline import say, settle
from tests.test_agents_why import openai_agent_on_number

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

LIVE = 10_000


async def test_notes_canned_replies_and_why(server: Server, tenant: Tenant) -> None:
    async with FakeOpenAI() as model:
        instance_id, _agent = await openai_agent_on_number(tenant, model)
        model.say("Entregamos sim, em até 2 horas [1].", prompt_tokens=1200, completion_tokens=80)
        await say(tenant, instance_id, "vocês fazem entrega?")
        await settle(tenant, instance_id)
    conversation_id = (await tenant.client.get("/api/v1/conversations")).json()["items"][0]["id"]
    for shortcut, text in (("precos", "A partir de R$ 10."), ("prazo", "Entrega em 2 dias.")):
        made = await tenant.client.post(
            "/api/v1/canned-replies", json={"shortcut": shortcut, "text": text}
        )
        assert made.status_code == 201
    sent = await tenant.client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"text": "Vai falhar"}
    )
    failed_id = sent.json()["id"]
    await fail_message(server.database_url, tenant, conversation_id, failed_id)
    url = f"{server.base_url}/inbox/{conversation_id}"
    async with chromium() as browser:
        mine = await signed_in_context(browser, server.base_url, tenant, 1280)
        theirs = await signed_in_context(browser, server.base_url, tenant, 1280)
        errors: list[str] = []
        page = await mine.new_page()
        colleague = await theirs.new_page()
        for p in (page, colleague):
            p.on("pageerror", lambda error: errors.append(str(error)))
            await open_live(p, url)

        # A failed message says why and is sent again from its bubble (once).
        failed = page.locator(f"#msg-{failed_id}")
        await expect(failed).to_contain_text("The provider refused it.")
        await failed.get_by_role("button", name="Send again").click()
        await expect(failed).to_have_attribute("data-status", "sent", timeout=LIVE)
        await expect(failed.get_by_role("button", name="Send again")).to_have_count(0)

        # An internal note, live on the colleague's screen, never a message.
        composer = page.locator("#reply-text")
        await page.get_by_label("Note", exact=True).check()
        await composer.fill("Cliente VIP: oferecer frete grátis")
        await composer.press("Enter")
        mine_note = page.locator("#thread .msg.note", has_text="frete grátis")
        await expect(mine_note).to_be_visible()
        await expect(mine_note).to_contain_text("Internal note")
        await expect(composer).to_have_value("")
        live_note = colleague.locator("#thread .msg.note", has_text="frete grátis")
        await expect(live_note).to_be_visible(timeout=LIVE)
        notes = await tenant.client.get(f"/api/v1/conversations/{conversation_id}/notes")
        assert len(notes.json()) == 1
        await page.get_by_label("Note", exact=True).uncheck()

        # "/pr" offers both replies; the arrow picks the second, Enter inserts it (no send).
        await composer.press_sequentially("/pr")
        menu = page.locator("#canned-menu")
        await expect(menu).to_be_visible()
        await expect(menu.get_by_role("option")).to_have_count(2)
        await composer.press("ArrowDown")
        await composer.press("Enter")
        await expect(composer).to_have_value("A partir de R$ 10.")
        await expect(menu).to_be_hidden()
        await composer.fill("/pra")
        await composer.dispatch_event("input")
        await expect(menu.get_by_role("option")).to_have_count(1)
        await menu.get_by_role("option").click()
        await expect(composer).to_have_value("Entrega em 2 dias.")
        history = await tenant.client.get(f"/api/v1/conversations/{conversation_id}/messages")
        operator = [m["text"] for m in history.json()["items"] if m["author"] == "operator"]
        assert operator == ["Vai falhar"]  # the canned text was inserted, not sent

        # Why did the agent say this?
        await page.get_by_role("button", name="Why did the agent say this?").click()
        panel = page.locator("#why-panel")
        await expect(panel).to_be_visible()
        await expect(panel).to_contain_text("gpt-4o-mini")
        await expect(panel).to_contain_text("1200 in, 80 out")
        await expect(panel).to_contain_text("Loja")
        await page.screenshot(path=SCREENSHOTS / "conversation-why-en-1280.png")
        await page.keyboard.press("Escape")
        await expect(panel).to_be_hidden()
        assert errors == []

        portuguese = await signed_in_context(browser, server.base_url, tenant, 1280, "pt_BR")
        pt_page = await portuguese.new_page()
        await open_live(pt_page, url)
        await expect(pt_page.locator("#thread .msg.note")).to_contain_text("Nota interna")
        await pt_page.get_by_role("button", name="Por que o agente disse isso?").click()
        await expect(pt_page.locator("#why-panel")).to_contain_text("Trechos de conhecimento")
        await pt_page.screenshot(path=SCREENSHOTS / "conversation-why-pt_BR-1280.png")
        # On a phone the conversation is full screen and the panel covers it whole.
        phone = await signed_in_context(browser, server.base_url, tenant, 360)
        small = await phone.new_page()
        await open_live(small, url)
        await expect(small.locator("#thread .msg.note")).to_be_visible()
        await expect(small.locator("#reply-text")).to_be_visible()
        await small.screenshot(path=SCREENSHOTS / "conversation-note-en-360.png")
        await small.get_by_role("button", name="Why did the agent say this?").click()
        await expect(small.locator("#why-panel")).to_contain_text("gpt-4o-mini")
        await small.screenshot(path=SCREENSHOTS / "conversation-why-en-360.png")
        await small.locator("#why-panel").get_by_role("button", name="Close").click()
        await expect(small.locator("#why-panel")).to_be_hidden()
        for context in (mine, theirs, portuguese, phone):
            await context.close()
