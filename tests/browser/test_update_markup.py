"""One update, two renderings that must agree: the server's ``_update.html`` (the live page as
served) and ``live.js``'s ``buildUpdate`` (the same update as the page receives it live).

The page is opened while the updates are still to change; the last event of each update is
then applied by ``live.js`` in place, and its elements are compared with those of a fresh,
script-free load of the same page: tag structure, classes, attributes and text. Whitespace
between and around text is ignored, and so are a ``<time>``'s text and ``title``, which
``live.js`` shows in the reader's own time zone and locale (its ``datetime`` is compared),
and the ``hidden`` of a social embed's load button, which ``live.js`` shows.
"""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, Page

from tests.browser.conftest import LiveServer, recording_page
from tests.browser.test_images import upload
from tests.browser.test_live_page import Desk, caught_up, console_errors, follow

# The normalised tree of the element with a given id, as plain JSON.
NORMALISED = """
(id) => {
  function tree(element) {
    const tag = element.tagName.toLowerCase();
    const attributes = [...element.attributes]
      .filter((a) => !(tag === "time" && a.name === "title"))
      .filter((a) => !(a.name === "hidden" && element.classList.contains("embed-load")))
      .map((a) => [a.name, a.name === "class" ? a.value.split(/\\s+/).filter(Boolean).join(" ") : a.value])
      .sort();
    const children = [];
    let text = "";
    const flush = () => {
      const collapsed = text.replace(/\\s+/g, " ").trim();
      if (collapsed) children.push(collapsed);
      text = "";
    };
    if (tag !== "time") {
      for (const child of element.childNodes) {
        if (child.nodeType === Node.TEXT_NODE) text += child.data;
        else if (child.nodeType === Node.ELEMENT_NODE) {
          flush();
          children.push(tree(child));
        }
      }
      flush();
    }
    return { tag, attributes, children };
  }
  const element = document.getElementById(id);
  return element ? tree(element) : null;
}
"""


async def normalised(page: Page, update: dict[str, Any]) -> Any:
    return await page.evaluate(NORMALISED, f"update-{update['id']}")


def differences(served: Any, built: Any, where: str = "article") -> list[str]:
    """Where two normalised trees differ, as readable paths."""
    if isinstance(served, str) or isinstance(built, str):
        return [] if served == built else [f"{where}: served {served!r}, live.js {built!r}"]
    found = []
    if served["tag"] != built["tag"]:
        return [f"{where}: served <{served['tag']}>, live.js <{built['tag']}>"]
    if served["attributes"] != built["attributes"]:
        found.append(f"{where}: served {served['attributes']}, live.js {built['attributes']}")
    for index in range(max(len(served["children"]), len(built["children"]))):
        if index >= len(served["children"]) or index >= len(built["children"]):
            found.append(
                f"{where}: served {len(served['children'])} children, live.js {len(built['children'])}"
            )
            break
        child = served["children"][index]
        name = child["tag"] if isinstance(child, dict) else "text"
        found += differences(child, built["children"][index], f"{where} > {name}[{index}]")
    return found


async def test_live_js_builds_an_update_exactly_as_the_server_renders_it(
    live_server: LiveServer, browser: Browser, page: Page
) -> None:
    live_server.start()
    desk = Desk(live_server)
    await desk.open("Storm over the bay", summary="Ferries are suspended.")
    photo = await upload(desk, (900, 600), (20, 60, 120))
    full = await desk.post(
        "Winds of **120 km/h** were measured at the pier; see [the forecast](https://weather.example.org/bay)."
        f" ![the pier]({photo['variants'][0]['url']})",
        byline="Bay desk & agencies",
        title="Gusts & ferries: <the pier> closes",
        sources=[
            {"name": "Met office", "url": "https://weather.example.org"},
            {"name": "Harbour master"},
            {"name": "Coastguard <press>", "url": "http://coast.example.org/Press?id=1&lang=en"},
        ],
        verification={"status": "disputed", "note": "The port authority gives a lower figure."},
        key_event=True,
        pinned=True,
        media=[
            {"kind": "image", "url": "https://img.example.org/pier.jpg", "caption": "The pier at noon"},
            {
                "kind": "image",
                "id": photo["id"],
                "alt": "Waves over the pier",
                "caption": "Noon",
                "credit": "Desk",
            },
            {"kind": "image", "id": photo["id"], "alt": "The same, credited only", "credit": "Agency"},
            {"kind": "link", "url": "https://example.org"},
            {"kind": "embed", "url": "https://youtu.be/dQw4w9WgXcQ?t=30", "caption": "The pier <live>"},
            {"kind": "embed", "url": "https://bsky.app/profile/bay.example.org/post/3l3orwsydyc24"},
        ],
    )
    withdrawn = await desk.post(
        "A ferry is said to have run aground.",
        sources=[{"name": "Social media", "url": "https://social.example.org/post/1"}],
        verification={"status": "unverified"},
    )
    await desk.correct(
        withdrawn, "A ferry is said to have run aground near the pier.", "Where it was said to be."
    )
    await follow(page, live_server)
    await page.evaluate("window.__sameDocument = true")

    # The last event of each update reaches the open page, which rebuilds its element.
    await desk.correct(
        full, full["body"].replace("pier;", "outer pier;"), "The measuring point is the outer pier."
    )
    await desk.call(
        "POST",
        f"/stories/{withdrawn['story']}/updates/{withdrawn['id']}/corrections",
        {
            "changes": {"body": "A ferry is said to have run aground by the pier."},
            "kind": "clarification",
            "reason": "desk",
            "note": "Reports differ on where.",
        },
    )
    await desk.retract(withdrawn, "No ferry ran aground; the report was false.")
    await caught_up(page, desk)
    assert await page.evaluate("window.__sameDocument === true"), "the page reloaded"

    served_context = await browser.new_context(java_script_enabled=False)
    served = await recording_page(served_context)
    await served.goto(f"{live_server.url}/stories/{withdrawn['story']}")
    wrong = []
    for update in (full, withdrawn):
        from_server = await normalised(served, update)
        from_live_js = await normalised(page, update)
        assert from_server is not None and from_live_js is not None
        wrong += differences(from_server, from_live_js)
    await served_context.close()
    assert not wrong, "\n".join(wrong)
    # Both really are the final state: its notes, the retraction, the badges.
    story = await desk.story(withdrawn["story"])
    assert f'"data-revision", "{story["pinned"][0]["revision"]}"' in str(
        await normalised(page, full)
    ).replace("'", '"')
    assert "retraction-notice" in str(await normalised(page, withdrawn))
    assert not console_errors(page)
