"""The revision-history page in real Chromium: timeline, inline diffs, the story as it stood."""

from __future__ import annotations

from playwright.async_api import Page, expect

from liveblog import demo
from tests.browser.conftest import LiveServer, screenshot


async def test_the_history_page_shows_every_change_and_the_story_as_it_stood(
    live_server: LiveServer, page: Page
) -> None:
    live_server.cli("demo")
    live_server.start()
    await page.goto(f"{live_server.url}/stories/{demo.SLUG}/history")

    changes = page.locator(".timeline li.change")
    await expect(changes).to_have_count(demo.STEP_COUNT)  # every event but the draft opening
    correction = page.locator(".timeline li.kind-correction")
    await expect(correction.locator("del")).to_have_text("5 p.m.")
    await expect(correction.locator("ins").first).to_contain_text("17:00 local time (14:00")
    await expect(correction.locator(".note")).to_contain_text("It was 17:00 local time")
    await expect(page.locator(".timeline li.kind-minor .note")).to_have_count(0)
    await screenshot(page, "history-timeline")

    picker = page.locator("#version")
    await expect(picker).to_have_attribute("type", "number")
    await expect(picker).to_have_attribute("max", str(demo.STEP_COUNT + 1))
    await picker.fill("4")
    await page.click("form.picker button")
    as_of = page.locator("#as-of")
    await expect(as_of).to_contain_text("version 4")
    await expect(as_of.locator(".update")).to_have_count(2)
    await expect(as_of).to_contain_text("before 5 p.m. GMT")
    await expect(as_of.locator(".note")).to_have_count(0)
    await screenshot(page, "history-as-of-version-4")

    await expect(page.locator("#version")).to_have_value("4")  # the picker names the version shown
    await page.locator("#version").fill(str(demo.STEP_COUNT + 1))
    await page.click("form.picker button")
    await expect(as_of.locator(".update.retracted")).to_have_count(1)
    await expect(as_of.locator(".update.retracted .retraction-notice")).to_contain_text("duplicated")
    await expect(as_of).to_contain_text("17:00 local time (14:00 GMT)")
    assert page.errors == []  # type: ignore[attr-defined]
