"""Uploaded images on the live page, in Chromium: served in the page and inserted live, each an
``<img>`` with its alt text and srcset that really loads (under the page's CSP), and the same
markup both ways (tests/browser/test_update_markup.py compares the whole update)."""

from __future__ import annotations

import io
from typing import Any

import httpx
from PIL import Image
from playwright.async_api import Page, expect

from tests.browser.conftest import LiveServer
from tests.browser.test_live_page import LIVE, Desk, article, caught_up, console_errors, follow


async def upload(desk: Desk, size: tuple[int, int], colour: tuple[int, int, int]) -> Any:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    async with httpx.AsyncClient(base_url=desk.url, headers=desk.headers, timeout=30) as client:
        response = await client.post("/api/v1/media", files={"file": ("a.jpg", out.getvalue(), "image/jpeg")})
    assert response.status_code == 201, response.text
    return response.json()


async def loaded(page: Page, update: Any) -> dict[str, Any]:
    image = article(page, update).locator("figure.media-image img")
    await expect(image).to_have_count(1)
    await image.scroll_into_view_if_needed()  # loading=lazy: only near the viewport
    await expect(image).to_have_js_property("complete", True, timeout=LIVE)
    facts: dict[str, Any] = await image.evaluate(
        "img => ({natural: img.naturalWidth, alt: img.alt, srcset: img.getAttribute('srcset'),"
        " current: img.currentSrc, loading: img.loading})"
    )
    return facts


async def test_the_live_page_shows_uploaded_images(live_server: LiveServer, page: Page) -> None:
    live_server.start()
    desk = Desk(live_server)
    await desk.open("Captives shown on video")
    first = await upload(desk, (1400, 900), (150, 30, 30))
    served = await desk.post(
        "The video shows two men.",
        media=[{"kind": "image", "id": first["id"], "alt": "Two men on a bench", "caption": "A still", "credit": "Legion"}],
    )  # fmt: skip
    await follow(page, live_server)
    facts = await loaded(page, served)
    assert facts["natural"] > 0 and facts["alt"] == "Two men on a bench" and facts["loading"] == "lazy"
    assert f"/media/{first['id']}/320.jpg 320w" in facts["srcset"]
    await expect(article(page, served).locator("figcaption")).to_have_text("A still — Legion")

    second = await upload(desk, (500, 500), (30, 150, 30))
    inline = second["variants"][-1]["url"]
    live = await desk.post(
        f"A map of the area: ![the border area]({inline})",
        media=[{"kind": "image", "id": second["id"], "alt": "A road at dusk"}],
    )
    await caught_up(page, desk)
    facts = await loaded(page, live)
    assert facts["natural"] > 0 and facts["alt"] == "A road at dusk"
    assert facts["current"].endswith(".jpg")
    in_body = article(page, live).locator(".body img")
    await expect(in_body).to_have_attribute("alt", "the border area")
    await in_body.scroll_into_view_if_needed()
    await expect(in_body).to_have_js_property("complete", True, timeout=LIVE)
    assert await in_body.evaluate("img => img.naturalWidth") == 500
    assert not console_errors(page)
