"""In a real browser: create an agent in the editor, add a FAQ, ask the playground a paraphrased
question and see the answer with its passage; screenshots of the editor with the playground."""

import pytest
from playwright.async_api import expect

from tests.browser.support import SCREENSHOTS, chromium
from tests.browser.test_dashboard_live import LOCALES, WIDTHS, shoot, sign_up_in_browser
from tests.support.server import Server
from tests.support.tenants import unique_email

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]


async def test_create_an_agent_teach_it_and_ask_the_playground(server: Server) -> None:
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await sign_up_in_browser(page, server.base_url, unique_email("agents-owner"))

        await page.get_by_role("navigation", name="Main").get_by_role("link", name="Agents").click()
        await page.wait_for_url("**/agents")
        await page.get_by_role("link", name="Create your first agent").click()
        await page.wait_for_url("**/agents/new")
        await page.get_by_label("Name", exact=True).fill("Padaria Aurora")
        await page.get_by_label("Instructions", exact=True).fill("Answer briefly and kindly.")
        await page.get_by_role("button", name="Create agent").click()
        await expect(page.get_by_role("status")).to_contain_text("Saved.")
        agent_url = page.url.split("?")[0]

        await page.get_by_text("Add questions and answers").click()
        await page.locator("#faq-title").fill("Horários")
        await page.get_by_label("Question 1").fill("What time do you open?")
        await page.get_by_label("Answer 1").fill("We open at 7 am every day.")
        await page.get_by_role("button", name="Add another").click()
        await expect(page.get_by_label("Question 4")).to_be_visible()
        await page.get_by_label("Question 2").fill("Do you deliver?")
        await page.get_by_label("Answer 2").fill("Yes, within the neighbourhood.")
        await page.get_by_role("button", name="Save questions").click()
        await expect(page.locator(".source", has_text="Horários")).to_contain_text("Ready")

        await page.get_by_label("Ask as a customer would").fill("when do you open in the morning?")
        await page.get_by_role("button", name="Ask").click()
        result = page.locator("#playground-result")
        await expect(result.locator(".bubble-answer")).to_contain_text("We open at 7 am")
        await expect(result.locator(".passages")).to_contain_text("Horários")
        await expect(result).to_contain_text("Tokens")
        assert errors == []

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        state = await context.storage_state()
        for locale, accept in LOCALES.items():
            for width in WIDTHS:
                viewport = {"width": width, "height": 900}
                member = await browser.new_context(
                    viewport=viewport, locale=accept, storage_state=state
                )
                await member.add_cookies(
                    [{"name": "atende_lang", "value": locale, "url": server.base_url}]
                )
                shot = await member.new_page()
                await shoot(shot, server.base_url + "/agents", f"agents-{locale}-{width}", width)
                await shoot(shot, agent_url, f"agent-editor-{locale}-{width}", width)
                question = "a que horas abrem?" if locale == "pt_BR" else "opening time?"
                await shot.locator("#f-question").fill(question)
                await shot.locator("#f-question").press("Enter")
                await expect(shot.locator("#playground-result .bubble-answer")).to_be_visible()
                await shot.locator(".playground").screenshot(
                    path=SCREENSHOTS / f"agent-playground-{locale}-{width}.png"
                )
                await member.close()
        await context.close()
