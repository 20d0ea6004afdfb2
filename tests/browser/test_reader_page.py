"""The reader's page wherever it appears (issue #13, point 5), in real Chromium: claim statuses
told apart by colour and icon with a legend, notes styled apart, times in the reader's zone,
key events, permalinks copied, oldest first remembered, phone width, and axe-core finding no
serious or critical violation on the live page, the embed, the fragment in a host page and the
history page. Screenshots of the claim badges (desktop, phone) go to test-artifacts/.

Each test loads a page once and checks all it can on it (the suite must stay quick)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser import axe
from tests.browser.axe import serious_violations
from tests.browser.conftest import ARTIFACTS, LiveServer, recording_page
from tests.browser.test_live_page import LIVE, SLUG, Desk, article, caught_up, console_errors, follow

STATUSES = ("confirmed", "unverified", "disputed", "denied", "false")
PUBLISHER = "The Harbour Times"


async def story_with_every_claim(desk: Desk) -> dict[str, Any]:
    """A story whose updates carry each claim status, a correction, a claim note and a
    retraction; returns the updates by name."""
    await desk.open("Harbour fire", summary="A warehouse is burning at the port.")
    made: dict[str, Any] = {}
    for n, status in enumerate(STATUSES):
        made[status] = await desk.post(
            f"Claim {n}: the fire **started** in warehouse {n}.",
            verification={"status": status, "note": f"Checked with the fire service ({status})."},
            key_event=status == "false",
        )
    made["corrected"] = await desk.post("Smoke reached the old town at 5 p.m.")
    await desk.correct(
        made["corrected"], "Smoke reached the **old town** at 6 p.m.", "It was 6 p.m., not 5 p.m."
    )
    made["retracted"] = await desk.post("A second warehouse is on fire.")
    await desk.retract(made["retracted"], "Only one warehouse burned.")
    return made


async def assert_accessible(page: Page, where: str) -> None:
    found = await serious_violations(page)
    assert found == [], f"axe-core on {where}:\n" + json.dumps(found, indent=1)[:4000]


async def claim_styles(page: Page) -> list[dict[str, str]]:
    styles: list[dict[str, str]] = await page.eval_on_selector_all(
        "#updates .badge.claim",
        """badges => badges.map((b) => ({
          status: [...b.classList].find((c) => c.startsWith("claim-")),
          background: getComputedStyle(b).backgroundColor,
          icon: getComputedStyle(b, "::before").maskImage || getComputedStyle(b, "::before").webkitMaskImage,
        }))""",
    )
    return styles


async def no_horizontal_scroll(page: Page) -> None:
    width = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page scrolls sideways: {width}"


async def test_the_live_page_tells_claims_apart_and_serves_the_reader(
    live_server: LiveServer, browser: Browser
) -> None:
    live_server.environment["LIVEBLOG_PUBLISHER_NAME"] = PUBLISHER
    live_server.start()
    desk = Desk(live_server)
    made = await story_with_every_claim(desk)
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="Europe/Berlin"
    )
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = await recording_page(context)
    await follow(page, live_server)

    # Claim badges: one colour and one icon each, the word, and a legend of all five.
    styles = await claim_styles(page)
    assert sorted(s["status"] for s in styles) == sorted(f"claim-{s}" for s in STATUSES)
    assert len({s["background"] for s in styles}) == 5, styles
    assert len({s["icon"] for s in styles}) == 5 and all(s["icon"].startswith("url(") for s in styles), styles
    await expect(article(page, made["false"]).locator(".badge.claim")).to_have_text("Claim status: False")
    legend = page.locator("#claim-legend")
    await legend.locator("summary").click()
    await expect(legend.locator("dt .badge.claim")).to_have_count(5)
    claim_note = article(page, made["disputed"]).locator(".claim-note")
    await expect(claim_note).to_have_text("Claim note: Checked with the fire service (disputed).")
    # Correction notes, claim notes and retraction notices each look different.
    frames = [
        await page.locator(selector).first.evaluate(
            "e => { const s = getComputedStyle(e); return [s.borderLeftColor, s.borderLeftStyle, s.borderTopStyle].join(' '); }"
        )
        for selector in ("#updates .note", "#updates .claim-note-disputed", "#updates .retraction-notice")
    ]
    assert len(set(frames)) == 3, frames
    badges = page.locator("#updates")
    ARTIFACTS.mkdir(exist_ok=True)
    await legend.screenshot(path=str(ARTIFACTS / "claim-legend-desktop.png"))
    await badges.screenshot(path=str(ARTIFACTS / "claim-badges-desktop.png"))

    # Times: the reader's zone by its abbreviation, UTC on hover, "ago" for recent ones.
    stamp = article(page, made["false"]).locator("header time")
    await expect(stamp).to_contain_text("CET")
    await expect(stamp).to_contain_text(re.compile(r"\bnow\b|\bago\b"))
    assert (await stamp.get_attribute("title") or "").endswith(" UTC")

    # JSON-LD: the publisher from the settings.
    ld = json.loads(await page.locator('script[type="application/ld+json"]').text_content() or "")
    assert ld["publisher"] == {"@type": "Organization", "name": PUBLISHER}

    # Copy link: the update's absolute permalink on the clipboard.
    copy = article(page, made["confirmed"]).get_by_role("button", name="Copy link to this update")
    await copy.click()
    permalink = f"{live_server.url}/stories/{SLUG}/updates/{made['confirmed']['id']}"
    await expect(page.locator('body > p[role="status"]')).to_have_text(f"Link copied: {permalink}")
    assert await page.evaluate("navigator.clipboard.readText()") == permalink

    # Key events: a live one is listed and links to its update; retracted, it goes.
    key = await desk.post("The fire is under control.", key_event=True)
    nav = page.locator("#key-events")
    await expect(nav.locator(f'a[href="#update-{key["id"]}"]')).to_have_count(1, timeout=LIVE)
    await nav.locator(f'a[href="#update-{key["id"]}"]').click()
    await expect(article(page, key)).to_be_in_viewport()
    await desk.retract(key, "It is not yet under control.")
    await expect(nav.locator(f'a[href="#update-{key["id"]}"]')).to_have_count(0, timeout=LIVE)

    # Oldest first: the order flips, a live post goes to the end, and it is remembered.
    toggle = page.get_by_role("button", name="Oldest first")
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    items = page.locator("#updates > article.update")
    await expect(items.first).to_have_attribute("data-update-id", made["confirmed"]["id"])
    latest = await desk.post("Firefighters from three towns are on site.")
    await expect(items.last).to_have_attribute("data-update-id", latest["id"], timeout=LIVE)
    await caught_up(page, desk)
    await assert_accessible(page, "the live page (desktop)")
    await page.reload()
    await expect(page.get_by_role("button", name="Oldest first")).to_have_attribute("aria-pressed", "true")
    await expect(items.first).to_have_attribute("data-update-id", made["confirmed"]["id"])
    await expect(items.last).to_have_attribute("data-update-id", latest["id"])
    assert console_errors(page) == []
    await context.close()

    # A phone: no sideways scrolling, the badges as a phone shows them, still accessible.
    phone_context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    phone = await recording_page(phone_context)
    await follow(phone, live_server)
    await no_horizontal_scroll(phone)
    await phone.locator("#claim-legend summary").click()
    await no_horizontal_scroll(phone)
    await phone.locator("#updates").screenshot(path=str(ARTIFACTS / "claim-badges-phone.png"))
    await phone.locator("#claim-legend").screenshot(path=str(ARTIFACTS / "claim-legend-phone.png"))
    await assert_accessible(phone, "the live page (phone)")
    assert console_errors(phone) == []
    await phone_context.close()


async def test_held_updates_wait_for_a_reader_who_scrolled_down(live_server: LiveServer, page: Page) -> None:
    """A post arriving while the reader reads further down is held hidden (nothing above them
    moves) until they ask for it."""
    live_server.start()
    desk = Desk(live_server)
    await desk.open("Storm over the coast")
    for n in range(1, 11):
        await desk.post(f"Update {n}: " + "Wind and rain continue along the whole coast. " * 6)
    await follow(page, live_server)
    await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    fresh = await desk.post("Update 11: the storm has reached the harbour.")
    await expect(page.locator("#new-updates button")).to_have_text("1 new update", timeout=LIVE)
    await expect(article(page, fresh)).to_be_hidden()
    await page.locator("#new-updates button").click()
    await expect(article(page, fresh)).to_be_visible()
    await no_horizontal_scroll(page)
    assert console_errors(page) == []


async def test_embed_fragment_and_history_are_accessible_and_history_steps_in_place(
    live_server: LiveServer, browser: Browser
) -> None:
    live_server.start()
    desk = Desk(live_server)
    made = await story_with_every_claim(desk)
    await desk.flag(made["corrected"], pinned=True)
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    page = await recording_page(context)

    await page.goto(f"{live_server.url}/stories/{SLUG}/embed")
    await expect(page.locator("main")).to_have_attribute("data-connection", "open", timeout=LIVE)
    await no_horizontal_scroll(page)
    await assert_accessible(page, "the embed")

    async with httpx.AsyncClient(timeout=15) as http:
        fragment = (await http.get(f"{live_server.url}/stories/{SLUG}/fragment")).text
    await page.set_content(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host article</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        f"<body><header><p>The newsroom</p></header><main><h1>Our article</h1>{fragment}</main></body></html>"
    )
    await expect(page.locator(".liveblog-fragment article .badge.claim")).to_have_count(5)
    await no_horizontal_scroll(page)
    await assert_accessible(page, "the fragment in a host page")

    await page.goto(f"{live_server.url}/stories/{SLUG}/history")
    timeline = page.locator(".timeline li.change")
    story = await desk.story()
    top = timeline.first
    await expect(top).to_have_attribute("data-version", str(story["version"]))
    await expect(top.locator(".version")).to_have_text(f"Version {story['version']}")
    await expect(top.locator(".kind")).to_have_text("Pinned")
    await expect(page.locator(".timeline li.kind-retraction .kind")).to_have_text("Retracted")
    await expect(page.locator(".timeline li.kind-correction .kind")).to_have_text("Correction")
    await expect(page.locator(".timeline li.kind-published .kind")).to_have_text("Story published")
    correction = page.locator(".timeline li.kind-correction")
    await expect(correction.locator(".diff strong")).to_contain_text("old town")
    await expect(correction.locator(".diff del").first).to_have_text("5")
    await expect(correction.locator(".diff ins").first).to_contain_text("6")
    assert "**" not in (await page.locator(".timeline").inner_text())
    first_post = page.locator(".timeline li.kind-posted").last
    await expect(first_post.locator(".target")).to_have_text(
        "Update: Claim 0: the fire started in warehouse 0."
    )
    await no_horizontal_scroll(page)
    await assert_accessible(page, "the history page")

    # Previous and next, without a reload; the links work without JavaScript too.
    await correction.locator("a.show-then").click()
    as_of = page.locator("#as-of")
    version = int(await correction.get_attribute("data-version") or 0)
    await expect(as_of).to_have_attribute("data-version", str(version))
    await page.evaluate("window.__sameDocument = true")
    await page.locator("#step-previous").click()
    await expect(as_of).to_have_attribute("data-version", str(version - 1))
    await expect(page).to_have_url(f"{live_server.url}/stories/{SLUG}/history?version={version - 1}#as-of")
    await expect(page.locator("#version")).to_have_value(str(version - 1))
    await expect(page.locator(f"#change-{version - 1}")).to_have_attribute("aria-current", "true")
    await page.locator("#step-next").click()
    await expect(as_of).to_have_attribute("data-version", str(version))
    await page.locator("#step-next").click()
    await expect(as_of).to_have_attribute("data-version", str(version + 1))
    await page.go_back()
    await expect(as_of).to_have_attribute("data-version", str(version))
    assert await page.evaluate("window.__sameDocument") is True, "the page reloaded"
    await assert_accessible(page, "the history page, a version shown")
    assert console_errors(page) == []

    no_js = await browser.new_context(java_script_enabled=False)
    plain = await recording_page(no_js)
    await plain.goto(f"{live_server.url}/stories/{SLUG}/history?version={version}#as-of")
    await plain.locator("#step-next").click()
    await expect(plain.locator("#as-of")).to_have_attribute("data-version", str(version + 1))
    await expect(plain.locator(".timeline time").first).to_contain_text("UTC")
    await no_js.close()
    await context.close()


def test_the_accessibility_check_fails_loudly_without_axe_core(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No axe-core (no `npm ci`): an AssertionError saying how to install it, never a pass or a skip."""
    monkeypatch.setattr(axe, "AXE", tmp_path / "node_modules" / "axe-core" / "axe.min.js")
    with pytest.raises(AssertionError, match="npm ci"):
        axe.axe_source()
