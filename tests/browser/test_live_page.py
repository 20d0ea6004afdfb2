"""The readers' live page in real Chromium: complete without JavaScript, then kept up to date in
place by liveblog/static/live.js over a WebSocket (or Server-Sent Events), with no duplicates,
across a server restart, and with nothing an editor types ever run as script."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from liveblog import demo
from tests.browser.conftest import ARTIFACTS, LiveServer, another_server, recording_page, screenshot

SLUG = "harbour-fire"
LIVE = 10_000  # ms: an event reaches an open page well within this
CATCH_UP = 45_000  # ms: after a restart, the reconnect backoff (with jitter) may wait a while


class Desk:
    """An editor working through the public API, as a newsroom tool would."""

    def __init__(self, server: LiveServer) -> None:
        token = server.cli("token", "create", "--role", "editor", "--name", "Desk").strip()
        self.headers = {"Authorization": f"Bearer {token}"}
        self.url = server.url

    async def call(self, method: str, path: str, body: Any = None, *, expect: int = 200) -> Any:
        async with httpx.AsyncClient(base_url=self.url, headers=self.headers, timeout=15) as client:
            response = await client.request(method, f"/api/v1{path}", json=body)
        assert response.status_code == expect, response.text
        return response.json()

    async def open(self, title: str, *, slug: str = SLUG, summary: str = "", publish: bool = True) -> Any:
        return await self.call(
            "POST",
            "/stories",
            {"title": title, "slug": slug, "summary": summary, "publish": publish},
            expect=201,
        )

    async def post(self, body: str, *, slug: str = SLUG, **fields: Any) -> Any:
        return await self.call("POST", f"/stories/{slug}/updates", {"body": body, **fields}, expect=201)

    async def correct(self, update: Any, body: str, note: str, *, slug: str = SLUG, **changes: Any) -> Any:
        return await self.call(
            "POST",
            f"/stories/{slug}/updates/{update['id']}/corrections",
            {
                "changes": {"body": body, **changes},
                "kind": "correction",
                "reason": "desk check",
                "note": note,
            },
        )

    async def retract(self, update: Any, note: str, *, slug: str = SLUG) -> Any:
        return await self.call(
            "POST",
            f"/stories/{slug}/updates/{update['id']}/retraction",
            {"reason": "desk check", "note": note},
        )

    async def flag(self, update: Any, *, slug: str = SLUG, **flags: bool) -> Any:
        return await self.call("PUT", f"/stories/{slug}/updates/{update['id']}/flags", flags)

    async def revise(self, *, slug: str = SLUG, **fields: str) -> Any:
        return await self.call("PATCH", f"/stories/{slug}", fields)

    async def story(self, slug: str = SLUG) -> Any:
        return await self.call("GET", f"/stories/{slug}")


def console_errors(page: Page) -> list[str]:
    """What the page logged as errors (a CSP violation is one), as recorded by conftest."""
    errors: list[str] = page.errors  # type: ignore[attr-defined]
    return errors


def article(page: Page, update: Any) -> Locator:
    return page.locator(f'article.update[data-update-id="{update["id"]}"]')


async def follow(page: Page, server: LiveServer, slug: str = SLUG) -> None:
    """Open the live page and wait until it is following the story."""
    await page.goto(f"{server.url}/stories/{slug}")
    await expect(page.locator("main")).to_have_attribute("data-connection", "open", timeout=LIVE)


async def caught_up(page: Page, desk: Desk, slug: str = SLUG, timeout: int = LIVE) -> None:
    """Wait until the page has applied every event the story has."""
    version = (await desk.story(slug))["version"]
    await expect(page.locator("main")).to_have_attribute("data-version", str(version), timeout=timeout)


async def struck_through(locator: Locator) -> bool:
    line: str = await locator.evaluate("element => getComputedStyle(element).textDecorationLine")
    return "line-through" in line


# ------------------------------------------------------------------------ without JavaScript


async def test_the_page_is_complete_without_javascript(live_server: LiveServer, browser: Browser) -> None:
    live_server.cli("demo")
    live_server.start()
    context = await browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = await recording_page(context)
    response = await page.goto(f"{live_server.url}/stories/{demo.SLUG}")
    assert response is not None and response.status == 200
    version = demo.STEP_COUNT + 1  # opened and published, then an event a step
    # The page says where it ends, so that following it live misses nothing.
    assert f"</api/v1/stories/{demo.SLUG}/live?after={version}>" in response.headers["link"]
    await expect(page.locator("main")).to_have_attribute("data-version", str(version))
    await expect(page.locator("#headline")).to_have_text(
        "Belgorod governor says he is ready to meet the group holding two soldiers"
    )
    await expect(page.locator("#coverage-ended")).to_be_visible()
    await expect(page.locator("#coverage-ended")).to_contain_text("Coverage has ended")
    await expect(page.locator("#live-badge")).to_be_hidden()
    await expect(page.locator("#connection")).to_be_hidden()

    # Every update once: the pinned note in its own section, the rest in the list.
    await expect(page.locator("#pinned article.update")).to_have_count(1)
    await expect(page.locator("#pinned")).to_contain_text("Note to readers")
    await expect(page.locator("main article.update")).to_have_count(12)
    await expect(page.locator("#key-events li")).to_have_count(3)
    for href in await page.eval_on_selector_all(
        "#key-events a", "links => links.map(a => a.getAttribute('href'))"
    ):
        assert href.startswith("#update-")  # each key event is on the page: a link to it
    await expect(page.locator("#updates .note-correction")).to_contain_text("It was 17:00 local time")
    await expect(page.locator("#updates .note-clarification")).to_contain_text("Gladkov has since responded")
    retracted = page.locator("#updates article.retracted")
    await expect(retracted).to_have_count(1)
    await expect(retracted.locator(".retraction-notice")).to_contain_text("duplicated an earlier one")
    assert await struck_through(retracted.locator(".body"))
    # Times are in UTC, in words, until a script makes them local.
    await expect(page.locator("#updates time").last).to_have_text("2023-06-04 10:45 UTC")

    ld = json.loads(await page.locator('script[type="application/ld+json"]').text_content() or "")
    assert ld["@type"] == "LiveBlogPosting"
    assert ld["headline"] == "Belgorod governor says he is ready to meet the group holding two soldiers"
    assert ld["coverageStartTime"] == "2023-06-04T10:30:00Z"
    assert ld["coverageEndTime"] == "2023-06-04T20:30:00Z"
    assert len(ld["liveBlogUpdate"]) == 12
    assert {item["@type"] for item in ld["liveBlogUpdate"]} == {"BlogPosting"}
    corrections = [c["text"] for item in ld["liveBlogUpdate"] for c in item.get("correction", [])]
    assert any("It was 17:00 local time" in text for text in corrections)
    assert any(text.startswith("Retracted: This update duplicated") for text in corrections)
    await screenshot(page, "live-no-javascript")
    assert console_errors(page) == []
    await context.close()


async def test_drafts_are_not_found_and_older_updates_have_pages(
    live_server: LiveServer, browser: Browser
) -> None:
    live_server.start()
    desk = Desk(live_server)
    await desk.open("A draft", slug="a-draft", publish=False)
    async with httpx.AsyncClient(base_url=live_server.url) as reader:
        assert (await reader.get("/stories/a-draft")).status_code == 404
        assert (await reader.get("/stories/no-such-story")).status_code == 404
    await desk.open("Harbour fire")
    posted = [await desk.post(f"Update number {n}.") for n in range(1, 23)]

    context = await browser.new_context(java_script_enabled=False)
    page = await recording_page(context)
    await page.goto(f"{live_server.url}/stories/{SLUG}")
    await expect(page.locator("#updates article.update")).to_have_count(20)
    await expect(page.locator("#updates article.update").first).to_contain_text("Update number 22.")
    await page.click("#older-link")
    await expect(page.locator("h2")).to_have_text("Older updates")
    await expect(page.locator("#updates article.update")).to_have_count(2)
    await expect(article(page, posted[1])).to_contain_text("Update number 2.")
    await expect(page.locator("#older-link")).to_have_count(0)
    # An update's permalink page.
    await page.goto(f"{live_server.url}/stories/{SLUG}/updates/{posted[0]['id']}")
    await expect(article(page, posted[0])).to_contain_text("Update number 1.")
    assert console_errors(page) == []
    await context.close()


# ------------------------------------------------------------------------ live


async def test_events_are_applied_in_place_without_a_reload(live_server: LiveServer, page: Page) -> None:
    live_server.start()
    desk = Desk(live_server)
    await desk.open("Fire at the harbour", summary="Crews are on their way.")
    first = await desk.post("Smoke is rising over the **harbour**.", byline="Harbour desk")
    second = await desk.post("Police have closed the coast road.")
    await follow(page, live_server)
    await page.evaluate("window.__sameDocument = true")
    await expect(page.locator("#updates article.update")).to_have_count(2)

    third = await desk.post(
        "Firefighters say the blaze is in a warehouse.",
        sources=[{"name": "Fire service", "url": "https://fire.example.org/statement"}],
    )
    await expect(page.locator("#updates article.update").first).to_have_attribute(
        "data-update-id", third["id"]
    )
    await expect(article(page, third)).to_contain_text("blaze is in a warehouse")
    await expect(article(page, third).locator(".sources a")).to_have_attribute(
        "href", "https://fire.example.org/statement"
    )
    await expect(page.locator("#new-updates button")).to_have_count(0)  # the reader is at the top

    await desk.correct(
        third, "Firefighters say the blaze is in a grain store.", "An earlier version said a warehouse."
    )
    await expect(article(page, third).locator(".body")).to_have_text(
        "Firefighters say the blaze is in a grain store."
    )
    await expect(article(page, third).locator(".note-correction")).to_contain_text(
        "An earlier version said a warehouse."
    )

    await desk.retract(second, "The road was not closed; we reported a rumour.")
    await expect(article(page, second)).to_have_class("update retracted")
    await expect(article(page, second).locator(".retraction-notice")).to_contain_text("we reported a rumour")
    assert await struck_through(article(page, second).locator(".body"))

    await desk.flag(first, pinned=True, key_event=True)
    await expect(page.locator("#pinned-section")).to_be_visible()
    await expect(page.locator("#pinned").locator(article(page, first))).to_have_count(1)
    await expect(page.locator("#updates").locator(article(page, first))).to_have_count(0)
    await expect(page.locator("#key-events li")).to_have_count(1)
    await expect(page.locator("#key-events a")).to_have_attribute("href", f"#update-{first['id']}")
    await expect(page.locator("#key-events")).to_contain_text("Smoke is rising over the harbour.")

    await desk.revise(title="Grain store ablaze at the harbour", summary="Two crews are fighting the fire.")
    await expect(page.locator("#headline")).to_have_text("Grain store ablaze at the harbour")
    await expect(page.locator("#summary")).to_have_text("Two crews are fighting the fire.")
    await expect(page).to_have_title("Grain store ablaze at the harbour")
    await caught_up(page, desk)
    await screenshot(page, "live-applied-in-place")

    await desk.flag(first, pinned=False)
    await expect(page.locator("#pinned-section")).to_be_hidden()
    await expect(page.locator("#updates article.update")).to_have_count(3)
    await expect(page.locator("#updates article.update").last).to_have_attribute(
        "data-update-id", first["id"]
    )

    await desk.call("POST", f"/stories/{SLUG}/close")
    await expect(page.locator("#coverage-ended")).to_be_visible()
    await expect(page.locator("#live-badge")).to_be_hidden()
    await caught_up(page, desk)

    for update in (first, second, third):
        await expect(article(page, update)).to_have_count(1)
    assert await page.evaluate("window.__sameDocument") is True  # never reloaded
    assert console_errors(page) == []


async def test_a_reader_who_has_scrolled_down_gets_a_new_updates_bar(
    live_server: LiveServer, page: Page
) -> None:
    live_server.start()
    desk = Desk(live_server)
    await desk.open("Storm over the coast")
    for n in range(1, 13):
        await desk.post(f"Update {n}: " + "Wind and rain continue along the whole coast. " * 6)
    await follow(page, live_server)
    updates = page.locator("#updates article.update")
    await expect(updates).to_have_count(12)

    await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    assert await page.evaluate("document.getElementById('updates').getBoundingClientRect().top") < 0
    scrolled = await page.evaluate("window.scrollY")
    await desk.post("Update 13: the storm has reached the harbour.")
    bar = page.locator("#new-updates button")
    await expect(bar).to_have_text("1 new update", timeout=LIVE)
    await desk.post("Update 14: ferries are cancelled.")
    await expect(bar).to_have_text("2 new updates", timeout=LIVE)
    await expect(updates).to_have_count(14)
    await expect(updates.first).to_contain_text("Update 14")
    assert abs(await page.evaluate("window.scrollY") - scrolled) < 2000  # still reading, not thrown about
    ARTIFACTS.mkdir(exist_ok=True)  # the viewport only: where the reader is, with the fixed bar
    await page.screenshot(path=str(ARTIFACTS / "live-new-updates-bar.png"))

    await bar.click()
    await expect(bar).to_have_count(0)
    await expect(page.locator("#updates-heading")).to_be_in_viewport()
    await expect(page.locator("#updates-heading")).to_be_focused()
    await desk.post("Update 15: the reader is at the top, so it just appears.")
    await expect(updates.first).to_contain_text("Update 15")
    await expect(bar).to_have_count(0)
    assert console_errors(page) == []


async def test_after_a_server_restart_the_page_catches_up_without_duplicates(
    live_server: LiveServer, page: Page
) -> None:
    live_server.start()
    desk = Desk(live_server)
    await desk.open("Harbour fire")
    first = await desk.post("Fire crews are at the harbour.")
    await follow(page, live_server)
    main = page.locator("main")

    live_server.stop()
    await expect(main).to_have_attribute("data-connection", "reconnecting", timeout=LIVE)

    # While the page's server is down, the newsroom carries on (through another process on
    # the same database); then the page's server comes back and one more update is posted.
    meanwhile = another_server(live_server)
    meanwhile.start()
    try:
        desk.url = meanwhile.url
        posted = [await desk.post(f"Posted while the page was disconnected, number {n}.") for n in (1, 2, 3)]
        await desk.correct(posted[0], "Posted while the page was disconnected, the first.", "Wording.")
        await desk.retract(first, "The crews were at the marina, not the harbour.")
    finally:
        meanwhile.stop()
    live_server.start()
    desk.url = live_server.url
    late = await desk.post("Posted just after the restart.")

    await caught_up(page, desk, timeout=CATCH_UP)
    await expect(main).to_have_attribute("data-connection", "open")
    # Failed reconnections did not make it give up WebSockets: the server was down, they were not blocked.
    await expect(main).to_have_attribute("data-transport", "websocket")
    for update in (first, *posted, late):
        await expect(article(page, update)).to_have_count(1)
    await expect(page.locator("#updates article.update")).to_have_count(5)
    await expect(page.locator("#updates article.update").first).to_have_attribute(
        "data-update-id", late["id"]
    )
    await expect(article(page, posted[0]).locator(".note")).to_contain_text("Wording.")
    await expect(article(page, first)).to_have_class("update retracted")
    await screenshot(page, "live-after-restart")
    # The console may report the failed reconnection attempts; nothing else.
    refused = ("WebSocket connection to", "net::ERR_CONNECTION_REFUSED")
    assert [error for error in console_errors(page) if not any(r in error for r in refused)] == []


FAILING_WEBSOCKET = """
window.WebSocket = class BlockedWebSocket extends EventTarget {
  constructor() {
    super();
    setTimeout(() => {
      this.dispatchEvent(new Event("error"));
      this.dispatchEvent(new CloseEvent("close", { code: 1006 }));
    }, 10);
  }
  close() {}
};
"""


@pytest.mark.parametrize("websockets", ["missing", "blocked"])
async def test_without_websockets_the_page_follows_over_server_sent_events(
    live_server: LiveServer, page: Page, websockets: str
) -> None:
    live_server.start()
    desk = Desk(live_server)
    await desk.open("Harbour fire")
    first = await desk.post("Fire crews are at the harbour.")
    await page.add_init_script("delete window.WebSocket" if websockets == "missing" else FAILING_WEBSOCKET)
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    await follow(page, live_server)
    await expect(page.locator("main")).to_have_attribute("data-transport", "sse")

    second = await desk.post("A second update, over Server-Sent Events.")
    await expect(page.locator("#updates article.update").first).to_have_attribute(
        "data-update-id", second["id"], timeout=LIVE
    )
    await desk.correct(first, "Fire crews are at the marina.", "An earlier version said the harbour.")
    await expect(article(page, first).locator(".note")).to_contain_text("said the harbour")
    await caught_up(page, desk)
    await expect(page.locator("#updates article.update")).to_have_count(2)
    assert sockets == []
    await screenshot(page, f"live-sse-websockets-{websockets}")
    assert console_errors(page) == []


FROM_THE_FUTURE = """
if (!sessionStorage.getItem("sent to the future")) {
  sessionStorage.setItem("sent to the future", "yes");
  // "interactive" comes after parsing and before deferred scripts (live.js) run.
  document.addEventListener("readystatechange", () => {
    if (document.readyState === "interactive") document.querySelector("main").dataset.version = "999";
  });
}
"""


async def test_a_reset_reloads_the_page(live_server: LiveServer, page: Page) -> None:
    """A version the server cannot serve (here: one from the future) makes the page reload."""
    live_server.start()
    desk = Desk(live_server)
    await desk.open("Harbour fire")
    await desk.post("Fire crews are at the harbour.")
    await page.add_init_script(FROM_THE_FUTURE)
    loads: list[str] = []
    page.on("load", lambda loaded: loads.append(loaded.url))
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))

    await page.goto(f"{live_server.url}/stories/{SLUG}")
    await expect(page.locator("main")).to_have_attribute("data-connection", "open", timeout=LIVE)
    await expect(page.locator("main")).to_have_attribute("data-version", "3")
    assert len(loads) == 2  # the first load, and the reload that the reset asked for
    assert [url.rsplit("?", 1)[1] for url in sockets] == ["after=999", "after=3"]
    second = await desk.post("And it goes on live after the reload.")
    await expect(article(page, second)).to_have_count(1, timeout=LIVE)
    assert console_errors(page) == []


async def test_times_are_the_readers_local_times_with_utc_on_hover(
    live_server: LiveServer, browser: Browser
) -> None:
    live_server.cli("demo")
    live_server.start()
    context = await browser.new_context(
        timezone_id="Asia/Kolkata", locale="en-GB", viewport={"width": 390, "height": 844}
    )
    page = await recording_page(context)
    await page.goto(f"{live_server.url}/stories/{demo.SLUG}")
    await expect(page.locator("main")).to_have_attribute("data-connection", "open", timeout=LIVE)
    first_post = page.locator("#updates time").last  # 10:45 UTC is 16:15 in India (UTC+5:30)
    await expect(first_post).to_contain_text("16:15")
    await expect(first_post).to_have_attribute("title", "2023-06-04 10:45 UTC")
    await expect(page.locator("#connection")).to_have_text("Any later corrections will appear here.")
    await screenshot(page, "live-local-times-closed-story")
    assert console_errors(page) == []
    await context.close()


# ------------------------------------------------------------------------ injection

HOSTILE_TITLE = 'Fire </script><script>window.__pwned="title"</script><img src=x onerror="window.__pwned=1">'
HOSTILE_BODY = (
    "<script>window.__pwned='body'</script>\n\n"
    "<img src=x onerror=\"window.__pwned='body-img'\">\n\n"
    "[a link](javascript:window.__pwned='link') and <a href=\"javascript:window.__pwned=1\">raw</a>\n\n"
    "<svg onload=\"window.__pwned='svg'\"></svg>"
)
HOSTILE = "<img src=x onerror=\"window.__pwned='{}'\"></p><script>window.__pwned='{}'</script>"


def hostile(where: str) -> str:
    return HOSTILE.format(where, where)


async def assert_inert(page: Page) -> None:
    """Nothing ran, nothing executable or loadable was inserted, every link is http(s) or ours."""
    assert await page.evaluate("window.__pwned") is None
    await expect(page.locator("main script, main img, main svg, main iframe, main object")).to_have_count(0)
    await expect(page.locator("[onerror], [onload], [onclick]")).to_have_count(0)
    hrefs: list[str] = await page.eval_on_selector_all(
        "main a[href]", "links => links.map(a => a.getAttribute('href'))"
    )
    assert hrefs and all(href.startswith(("https://", "http://", "/", "#")) for href in hrefs), hrefs


async def test_no_input_is_ever_run_as_script(live_server: LiveServer, page: Page) -> None:
    live_server.start()
    desk = Desk(live_server)
    await desk.open(HOSTILE_TITLE, summary=hostile("summary"))
    hostile_fields = {
        "byline": hostile("byline"),
        "sources": [
            {"name": hostile("source")},
            {"name": "Fire service", "url": "https://fire.example.org/"},
        ],
        "media": [{"kind": "link", "url": "https://example.org/", "caption": hostile("caption")}],
        "verification": {"status": "disputed", "note": hostile("claim")},
    }
    # A javascript: source URL does not even get in.
    await desk.call(
        "POST",
        f"/stories/{SLUG}/updates",
        {"body": "x", "sources": [{"name": "s", "url": "javascript:window.__pwned=1"}]},
        expect=422,
    )
    before = await desk.post(HOSTILE_BODY, **hostile_fields)
    await desk.correct(before, HOSTILE_BODY + "\n\nCorrected.", hostile("note"))
    retracted_before = await desk.post("To be retracted.")
    await desk.retract(retracted_before, hostile("retraction"))

    await follow(page, live_server)
    await assert_inert(page)
    await expect(page.locator("#headline")).to_have_text(HOSTILE_TITLE)
    await expect(page.locator("#summary")).to_have_text(hostile("summary"))
    await expect(article(page, before).locator(".byline")).to_have_text(hostile("byline"))
    await expect(article(page, before).locator(".note")).to_contain_text(hostile("note"))
    await expect(article(page, retracted_before).locator(".retraction-notice")).to_contain_text(
        hostile("retraction")
    )
    await expect(article(page, before).locator(".body")).to_contain_text(
        "<script>window.__pwned='body'</script>"
    )
    ld = json.loads(await page.locator('script[type="application/ld+json"]').text_content() or "")
    assert ld["headline"] == HOSTILE_TITLE
    assert await page.locator("script").count() == 2  # the JSON-LD and live.js, nothing else

    # The same, applied live.
    live = await desk.post(HOSTILE_BODY, **hostile_fields)
    await desk.correct(live, HOSTILE_BODY + "\n\nCorrected live.", hostile("live-note"))
    retracted_live = await desk.post("To be retracted live.")
    await desk.retract(retracted_live, hostile("live-retraction"))
    retitled = HOSTILE_TITLE.replace("Fire", "Still burning")
    await desk.revise(title=retitled, summary=hostile("live-summary"))
    await caught_up(page, desk)
    await expect(article(page, live).locator(".note")).to_contain_text(hostile("live-note"))
    await expect(article(page, live).locator(".byline")).to_have_text(hostile("byline"))
    await expect(article(page, live).locator(".sources")).to_contain_text(hostile("source"))
    await expect(article(page, live).locator(".media")).to_contain_text(hostile("caption"))
    await expect(article(page, live).locator(".claim-note")).to_have_text("Claim note: " + hostile("claim"))
    await expect(article(page, retracted_live).locator(".retraction-notice")).to_contain_text(
        hostile("live-retraction")
    )
    await expect(page.locator("#headline")).to_have_text(retitled)
    await expect(page).to_have_title(retitled)
    await assert_inert(page)
    await screenshot(page, "live-hostile-input-inert")
    assert console_errors(page) == []
