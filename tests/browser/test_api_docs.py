"""The API reference at /docs in real Chromium: it renders with no console error and no
request to another origin under its strict Content-Security-Policy, and an editor can
authorize and run a write through Swagger UI's "Try it out"."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, Request, expect

from liveblog.api.security_headers import DOCS_POLICY, PAGE_POLICY
from tests.browser.conftest import LiveServer, recording_page, screenshot

SLUG = "belgorod-border-raid"  # the slug of NewStory's documented example, which Swagger sends


async def test_an_editor_authorizes_and_opens_a_story_from_the_docs(
    live_server: LiveServer, browser: Browser
) -> None:
    token = live_server.cli("token", "create", "--role", "editor", "--name", "Docs editor").strip()
    live_server.start()
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await recording_page(context)
    requests: list[str] = []

    def record(request: Request) -> None:
        requests.append(request.url)

    page.on("request", record)
    try:
        await page.goto(f"{live_server.url}/docs")
        operation = page.locator("#operations-stories-open_story_api_v1_stories_post")
        await expect(operation).to_be_visible()
        await expect(page.locator("button.authorize").first).to_be_visible()
        await screenshot(page, "docs")

        await page.locator(".scheme-container button.authorize").click()
        dialog = page.locator(".dialog-ux .modal-ux")
        await dialog.locator("input").fill(token)
        await dialog.locator("button.authorize[type=submit]").click()
        await expect(dialog.locator("button.btn-done")).to_be_visible()
        await dialog.locator("button.btn-done").click()
        await expect(page.locator(".scheme-container button.authorize.locked")).to_be_visible()

        await operation.locator(".opblock-summary").first.click()
        await operation.locator("button.try-out__btn").click()
        # Headers are not filled in with their examples: a fixed key would make a second try a replay.
        await expect(operation.locator('tr[data-param-name="Idempotency-Key"] input')).to_have_value("")
        body = operation.locator("textarea.body-param__text")
        await expect(body).to_contain_text(SLUG)
        await operation.locator("button.execute").click()
        status = operation.locator(".live-responses-table .response .response-col_status")
        await expect(status.first).to_have_text("201", timeout=15_000)
        await screenshot(page, "docs-try-it-out")

        assert page.errors == []  # type: ignore[attr-defined]
        assert requests and all(url.startswith(live_server.url + "/") for url in requests), requests
        assert any(url.endswith("/docs/assets/favicon.svg") for url in requests), requests
    finally:
        await context.close()

    async with httpx.AsyncClient(base_url=live_server.url) as client:
        story = await client.get(f"/api/v1/stories/{SLUG}")
        assert story.status_code == 200, story.text  # published: Swagger sent the example body
        docs = await client.get("/docs")
        page_response = await client.get(f"/stories/{SLUG}")
    assert docs.headers["content-security-policy"] == DOCS_POLICY
    assert "'unsafe-inline'" not in DOCS_POLICY and "https:" not in DOCS_POLICY
    assert page_response.status_code == 200
    # The reader's page: the page policy, with the social embeds' frames its placeholders load.
    page_policy = page_response.headers["content-security-policy"]
    assert page_policy.startswith(PAGE_POLICY.split("; base-uri")[0] + "; frame-src https://")
    assert page_policy.endswith("; base-uri" + PAGE_POLICY.split("; base-uri")[1])
    assert "'unsafe-inline'" not in page_policy
