"""In a real browser: a large file uploaded to an agent shows a progress bar that moves with
the background indexing (SSE, no polling, no reload) and turns "Ready" by itself."""

import pytest
from playwright.async_api import expect

from atende.agents.indexing import BATCH_CHUNKS
from tests.browser.support import chromium
from tests.browser.test_dashboard_live import sign_up_in_browser
from tests.support.server import Server
from tests.support.tenants import unique_email
from tests.test_agents_knowledge_progress import big_text

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]


async def test_the_progress_bar_follows_the_indexing_live(server: Server) -> None:
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        await sign_up_in_browser(page, server.base_url, unique_email("progress-owner"))
        await page.goto(server.base_url + "/agents/new")
        await page.get_by_label("Name", exact=True).fill("Biblioteca")
        await page.get_by_role("button", name="Create agent").click()
        await expect(page.get_by_role("status")).to_contain_text("Saved.")

        # About 25 batches: seconds of indexing, long enough to watch.
        text = big_text(25 * BATCH_CHUNKS * 450)
        await page.get_by_text("Upload a file").click()
        await page.get_by_label("File", exact=True).set_input_files(
            {"name": "manual.txt", "mimeType": "text/plain", "buffer": text.encode()}
        )
        await page.get_by_role("button", name="Upload").click()
        source = page.locator(".source", has_text="manual.txt")
        bar = source.locator("progress")
        await expect(bar).to_be_visible()
        await page.evaluate("window.__stillTheSamePage = true")
        await expect(source).to_contain_text("chunks indexed", timeout=30_000)
        first = int(await bar.get_attribute("value") or 0)
        total = int(await bar.get_attribute("max") or 0)
        assert 0 <= first < total  # seen on its way
        await expect(source.locator(".pill")).to_have_text("Ready", timeout=90_000)
        await expect(bar).to_have_count(0)
        assert await page.evaluate("window.__stillTheSamePage === true")  # no reload
        fetched = [url for url in requests if url.endswith("/knowledge/sources")]
        assert len(fetched) >= 2, fetched  # one per progress event, not on a timer
        assert errors == []
        await context.close()
