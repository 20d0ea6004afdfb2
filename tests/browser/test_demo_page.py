"""The README's quick start in real Chromium: the open demo story's live page shows an update
posted with the printed editor token, without a reload."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect

from liveblog import demo
from tests.browser.conftest import LiveServer, screenshot

LIVE = 10_000  # ms: an event reaches an open page well within this


def printed(output: str, label: str) -> str:
    line = next(line for line in output.splitlines() if line.startswith(label))
    return line[len(label) :].strip()


async def test_a_post_with_the_printed_token_appears_on_the_open_story_live(
    live_server: LiveServer, page: Page
) -> None:
    output = live_server.cli("demo")
    editor = printed(output, "editor token:")
    assert printed(output, "open story (post to it):").endswith(f"/stories/{demo.TRY_SLUG}")
    live_server.start()
    await page.goto(f"{live_server.url}/stories/{demo.TRY_SLUG}")
    await expect(page.locator("#headline")).to_have_text(demo.TRY_TITLE)
    await expect(page.locator("#updates article.update")).to_have_count(demo.TRY_STEP_COUNT - 1)
    await expect(page.locator("#live-badge")).to_be_visible()

    async with httpx.AsyncClient(base_url=live_server.url) as client:
        posted = await client.post(
            f"/api/v1/stories/{demo.TRY_SLUG}/updates",
            json={"body": "Hello from **curl**"},
            headers={"Authorization": f"Bearer {editor}"},
        )
    assert posted.status_code == 201, posted.text
    first = page.locator("#updates article.update").first
    await expect(first).to_have_attribute("data-update-id", posted.json()["id"], timeout=LIVE)
    await expect(first.locator("strong")).to_have_text("curl")
    await screenshot(page, "demo-open-story")
