"""The revision-history page in real Chromium: timeline, inline diffs, the story as it stood."""

from __future__ import annotations

import httpx
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


async def test_a_long_history_pages_through_older_and_newer_changes(
    live_server: LiveServer, page: Page
) -> None:
    """Issue "Hardening" item 4: 50 changes a page, links to older and newer ones, and the
    number picker bounded by the first and the last change."""
    live_server.cli("migrate")
    secret = live_server.cli("token", "create", "--role", "editor", "--name", "Desk").strip()
    live_server.start()
    with httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {secret}"}) as http:
        opened = http.post("/api/v1/stories", json={"title": "Long night", "slug": "long", "publish": True})
        assert opened.status_code == 201
        for n in range(70):
            assert http.patch("/api/v1/stories/long", json={"summary": f"Count {n}"}).status_code == 200
    await page.goto(f"{live_server.url}/stories/long/history")
    changes = page.locator(".timeline li.change")
    await expect(changes).to_have_count(50)
    await expect(changes.first).to_have_attribute("data-version", "72")
    await expect(page.locator("#newer-changes")).to_have_count(0)
    await page.click("#older-changes")
    await expect(changes).to_have_count(21)  # versions 22 down to 2 (1 was the draft opening)
    await expect(changes.last).to_have_attribute("data-version", "2")
    await expect(page.locator("#older-changes")).to_have_count(0)
    await page.click("#newer-changes")
    await expect(changes.first).to_have_attribute("data-version", "72")

    picker = page.locator("#version")
    await expect(picker).to_have_attribute("min", "2")
    await expect(picker).to_have_attribute("max", "72")
    await picker.fill("30")
    await page.click("form.picker button")
    await expect(page.locator("#as-of")).to_contain_text("version 30")
    await expect(page.locator("#as-of .summary")).to_have_text("Count 27")
    assert page.errors == []  # type: ignore[attr-defined]
