"""Social embeds in real Chromium: nothing leaves the reader's browser for a provider until the
reader asks for that embed; then the provider's frame loads (the page's CSP lets it), here
aborted at the network since tests have no internet. Without JavaScript, the link alone."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.async_api import Browser, Page, Request, Route, expect

from tests.browser.conftest import LiveServer, recording_page
from tests.browser.test_live_page import LIVE, Desk, caught_up, console_errors, follow

SLUG = "border-embeds"
TELEGRAM = "https://t.me/legionoffreedom/1234"
VIMEO = "https://vimeo.com/76979871"


async def record_and_keep_home(page: Page, server: LiveServer) -> list[str]:
    """Every URL the page requests, in order; anything not for the liveblog server is aborted."""
    requested: list[str] = []
    home = urlsplit(server.url).netloc

    async def handle(route: Route, request: Request) -> None:
        requested.append(request.url)
        if urlsplit(request.url).netloc == home:
            await route.continue_()
        else:
            await route.abort()

    await page.route("**/*", handle)
    return requested


def hosts(urls: list[str]) -> set[str]:
    return {urlsplit(url).netloc for url in urls}


async def test_no_request_reaches_a_provider_before_the_reader_asks(
    live_server: LiveServer, page: Page
) -> None:
    live_server.start()
    desk = Desk(live_server)
    await desk.open("Embeds at the border", slug=SLUG)
    served = await desk.post(
        "The fighters posted a video.", slug=SLUG, media=[{"kind": "embed", "url": TELEGRAM + "?single"}]
    )
    requested = await record_and_keep_home(page, live_server)
    await follow(page, live_server, SLUG)
    # An update arriving live brings its placeholder too.
    arrived = await desk.post(
        "And another one.", slug=SLUG, media=[{"kind": "embed", "url": VIMEO, "caption": "From the village"}]
    )
    await caught_up(page, desk, SLUG)
    first = page.locator(f"#update-{served['id']} figure.embed")
    second = page.locator(f"#update-{arrived['id']} figure.embed")
    await expect(second.locator("figcaption")).to_have_text("From the village")
    for figure, label, link in ((first, "Telegram", TELEGRAM), (second, "Vimeo", VIMEO)):
        await expect(figure.get_by_role("button", name=f"Load content from {label}")).to_be_visible()
        await expect(figure.get_by_role("link", name=link)).to_have_attribute("href", link)
    assert await page.locator("iframe").count() == 0
    assert hosts(requested) == {urlsplit(live_server.url).netloc}, requested

    async with page.expect_request(lambda request: request.url == TELEGRAM + "?embed=1", timeout=LIVE):
        await first.get_by_role("button", name="Load content from Telegram").click()
    frame = first.locator("iframe.embed-frame")
    await expect(frame).to_have_attribute("src", TELEGRAM + "?embed=1")
    await expect(frame).to_have_attribute("title", "Content from Telegram")
    assert hosts(requested) == {urlsplit(live_server.url).netloc, "t.me"}, requested
    assert await second.locator("iframe").count() == 0

    async with page.expect_request(lambda request: "player.vimeo.com" in request.url, timeout=LIVE):
        await second.get_by_role("button", name="Load content from Vimeo").click()
    await expect(second.locator("iframe.embed-frame")).to_have_attribute(
        "src", "https://player.vimeo.com/video/76979871?dnt=1"
    )
    # The CSP let both frames load (a refused frame is a console error naming the policy).
    assert not [error for error in console_errors(page) if "Content Security Policy" in error]


async def test_without_javascript_an_embed_is_a_link(live_server: LiveServer, browser: Browser) -> None:
    live_server.start()
    desk = Desk(live_server)
    await desk.open("Embeds at the border", slug=SLUG)
    await desk.post("A video.", slug=SLUG, media=[{"kind": "embed", "url": "https://youtu.be/dQw4w9WgXcQ"}])
    context = await browser.new_context(java_script_enabled=False)
    page = await recording_page(context)
    requested = await record_and_keep_home(page, live_server)
    await page.goto(f"{live_server.url}/stories/{SLUG}")
    figure = page.locator("figure.embed-youtube")
    await expect(figure.get_by_role("link")).to_have_attribute(
        "href", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    )
    await expect(figure.get_by_role("button")).to_be_hidden()
    assert hosts(requested) == {urlsplit(live_server.url).netloc}, requested
    await context.close()
