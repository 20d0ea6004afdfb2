"""The story on another site's page, in real Chromium (issue #13, points 1 and 2): a host page
served from another origin (its own port) embeds the story with the two lines of embed.js;
the iframe follows the story live and grows with it; the oEmbed HTML loads the same iframe;
without JavaScript the fallback link is there."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Frame, Page, expect

from tests.browser.conftest import LiveServer, free_port, recording_page, screenshot
from tests.browser.test_live_page import LIVE, SLUG, Desk, console_errors

FRAME = "iframe[data-liveblog-story]"


@dataclass
class HostSite:
    """Another web site: static pages on 127.0.0.1 at a port of their own (another origin)."""

    folder: Path
    url: str

    def page(self, name: str, body: str) -> str:
        (self.folder / name).write_text(
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Host article</title></head>'
            f"<body><h1>The newsroom's own article</h1>{body}<p id='after'>After the live blog.</p></body></html>"
        )
        return f"{self.url}/{name}"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def host_site(tmp_path: Path) -> Iterator[HostSite]:
    folder = tmp_path / "host-site"
    folder.mkdir()
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), functools.partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield HostSite(folder=folder, url=f"http://127.0.0.1:{port}")
    server.shutdown()
    server.server_close()


def two_lines(server: LiveServer) -> str:
    """The snippet docs/api.md gives newsrooms to paste."""
    return (
        f'<div data-liveblog-story="{SLUG}"><a href="{server.url}/stories/{SLUG}">Follow the live blog</a></div>'
        f'<script src="{server.url}/embed.js" async></script>'
    )


async def embedded_frame(page: Page, server: LiveServer) -> Frame:
    await expect(page.locator(FRAME)).to_have_count(1, timeout=LIVE)
    for _ in range(200):
        found = [frame for frame in page.frames if frame.url.startswith(f"{server.url}/stories/{SLUG}/embed")]
        if found:
            return found[0]
        await page.wait_for_timeout(50)
    raise AssertionError("the iframe never loaded the embed")


async def fits_its_content(page: Page, frame: Frame, timeout: int = LIVE) -> float:
    """Wait until the iframe is as tall as the document inside it; returns that height."""
    for _ in range(timeout // 100):
        content: float = await frame.evaluate("() => document.documentElement.getBoundingClientRect().height")
        outer: float = await page.locator(FRAME).evaluate("frame => frame.getBoundingClientRect().height")
        if content > 0 and abs(outer - content) <= 1:
            return outer
        await page.wait_for_timeout(100)
    raise AssertionError(f"the iframe ({outer}px) never fitted its content ({content}px)")


async def test_two_lines_embed_the_live_story_which_grows_with_new_posts(
    live_server: LiveServer, browser: Browser, page: Page, host_site: HostSite
) -> None:
    live_server.start()
    desk = Desk(live_server)
    await desk.open("Harbour fire", summary="A warehouse is burning at the port.")
    await desk.post("Fire crews are on their way.")
    address = host_site.page("article.html", two_lines(live_server))
    await page.goto(address)

    iframe = page.locator(FRAME)
    await expect(iframe).to_have_attribute("title", "Follow the live blog")
    await expect(iframe).to_have_attribute("src", f"{live_server.url}/stories/{SLUG}/embed")
    embed = page.frame_locator(FRAME)
    await expect(embed.locator("main")).to_have_attribute("data-connection", "open", timeout=LIVE)
    await expect(embed.locator("#headline")).to_have_text("Harbour fire")
    frame = await embedded_frame(page, live_server)
    before = await fits_its_content(page, frame)

    paragraphs = "\n\n".join(f"Paragraph {n}: the fire has spread to the next warehouse." for n in range(8))
    posted = await desk.post(f"**Update.** {paragraphs}")
    await expect(embed.locator(f'article[data-update-id="{posted["id"]}"]')).to_be_visible(timeout=LIVE)
    after = await fits_its_content(page, frame)
    assert after > before, (before, after)
    await expect(page.locator("#after")).to_be_visible()
    await screenshot(page, "embed-host-page")
    assert console_errors(page) == []


async def test_the_oembed_html_loads_the_iframe(
    live_server: LiveServer, browser: Browser, page: Page, host_site: HostSite
) -> None:
    live_server.start()
    desk = Desk(live_server)
    await desk.open("Harbour fire")
    await desk.post("Smoke over the harbour.")
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(
            f"{live_server.url}/oembed", params={"url": f"{live_server.url}/stories/{SLUG}", "maxwidth": 480}
        )
    assert response.status_code == 200
    document = response.json()
    assert document["type"] == "rich" and document["width"] == 480
    await page.goto(host_site.page("oembed.html", document["html"]))
    embed = page.frame_locator(FRAME)
    await expect(embed.locator("#headline")).to_have_text("Harbour fire", timeout=LIVE)
    await expect(embed.locator("#updates")).to_contain_text("Smoke over the harbour.")
    await expect(page.locator(FRAME)).to_have_attribute("title", "Live blog: Harbour fire")
    frame = await embedded_frame(page, live_server)
    await fits_its_content(page, frame)  # embed.js, from the oEmbed HTML, sized it
    assert console_errors(page) == []


async def test_without_javascript_the_host_page_has_the_link(
    live_server: LiveServer, browser: Browser, host_site: HostSite
) -> None:
    live_server.start()
    await Desk(live_server).open("Harbour fire")
    context = await browser.new_context(java_script_enabled=False)
    page = await recording_page(context)
    await page.goto(host_site.page("article.html", two_lines(live_server)))
    link = page.get_by_role("link", name="Follow the live blog")
    await expect(link).to_have_attribute("href", f"{live_server.url}/stories/{SLUG}")
    await expect(page.locator(FRAME)).to_have_count(0)
    await context.close()


async def test_a_site_not_in_the_frame_ancestors_setting_cannot_frame_the_embed(
    live_server: LiveServer, browser: Browser, page: Page, host_site: HostSite
) -> None:
    live_server.environment["LIVEBLOG_EMBED_FRAME_ANCESTORS"] = "https://cms.example.org"
    live_server.start()
    await Desk(live_server).open("Harbour fire")
    async with page.expect_console_message(
        lambda message: "frame-ancestors" in message.text, timeout=LIVE
    ) as refused:
        await page.goto(host_site.page("article.html", two_lines(live_server)))
    assert "https://cms.example.org" in (await refused.value).text
    # The frame holds Chromium's error page, never the story.
    await expect(page.locator(FRAME)).to_have_count(1)
    assert not [
        frame
        for frame in page.frames
        if frame.url.startswith(f"{live_server.url}/stories/") and await frame.locator("#headline").count()
    ]
