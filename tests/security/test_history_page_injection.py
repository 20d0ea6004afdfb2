"""Script injection on the revision-history page, in real Chromium.

Injection payloads go into every field the page renders: story titles and summaries, update
bodies (Markdown and raw HTML), bylines, source names and URLs, media captions, verification
notes, correction notes and changed bodies (shown as inline diffs), retraction notices, and
the token name that becomes the author. The page (timeline, and the story as it stood at
several versions) must never set the ``window.__pwned`` canary, must carry its CSP header,
must contain no element a payload could have planted, and must raise no console error (a
CSP violation is one). It is loaded once more with the CSP header stripped, so that escaping
alone is shown to hold, not just the policy.
"""

from __future__ import annotations

import httpx
from playwright.async_api import Page, Route

from tests.browser.conftest import LiveServer, browser, live_server, page  # noqa: F401  (fixtures)

CANARY = "window.__pwned=1"
PAYLOADS = [
    f"<script>{CANARY}</script>",
    f'<img src=x onerror="{CANARY}">',
    f'"><svg onload={CANARY}>',
    '\'><iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>',
    f"</title></textarea></option></select><script>{CANARY}</script>",
    f'<a href="javascript:{CANARY}">click</a>',
    f"<details open ontoggle={CANARY}>x</details>",
    f"<math><mtext><table><mglyph><style><img src=x onerror={CANARY}>",
    "{{ 7*7 }} ${7*7} <%= 7*7 %> {% raw %}",
    f"<style>*{{background:url('javascript:{CANARY}')}}</style>",
]
MARKDOWN = [
    f"[click me](javascript:{CANARY})",
    f'![x](https://example.org/x.png" onerror="{CANARY})',
    "[data](data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX19wd25lZD0xPC9zY3JpcHQ+)",
    f"<img src=x onerror={CANARY}> *emphasis*",
    f"<a href='javascript:{CANARY}'>raw link</a>",
    f"```\n</code><script>{CANARY}</script>\n```",
]
API = "/api/v1"
SLUG = "injected"


def _payload(n: int) -> str:
    return PAYLOADS[n % len(PAYLOADS)]


def _seed(server: LiveServer) -> int:
    """Fill a story with payloads through the API; returns its version."""
    secret = server.cli(
        "token", "create", "--role", "editor", "--name", f"<img src=x onerror={CANARY}>"
    ).strip()
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:

        def ok(response: httpx.Response) -> dict[str, object]:
            assert response.status_code in (200, 201), response.text
            return dict(response.json())

        ok(
            http.post(
                f"{API}/stories",
                json={"title": _payload(0), "summary": _payload(1), "slug": SLUG, "publish": True},
            )
        )
        ids: list[str] = []
        for n, body in enumerate(PAYLOADS + MARKDOWN):
            update = ok(
                http.post(
                    f"{API}/stories/{SLUG}/updates",
                    json={
                        "body": body,
                        "byline": _payload(n + 2),
                        "sources": [
                            {
                                "name": _payload(n + 3),
                                "url": f'https://example.org/"><script>{CANARY}</script>',
                            },
                            {"name": _payload(n + 4)},
                        ],
                        "media": [
                            {"kind": "image", "url": "https://example.org/i.png", "caption": _payload(n + 5)},
                            {"kind": "link", "url": f"https://example.org/?q=<script>{CANARY}</script>"},
                        ],
                        "verification": {"status": "disputed", "note": _payload(n + 6)},
                        "key_event": n % 2 == 0,
                        "pinned": n % 3 == 0,
                    },
                )
            )
            ids.append(str(update["id"]))
        for n, update_id in enumerate(ids[:8]):
            ok(
                http.post(
                    f"{API}/stories/{SLUG}/updates/{update_id}/corrections",
                    json={
                        "changes": {"body": f"Corrected {_payload(n + 7)} text", "byline": _payload(n + 8)},
                        "kind": ["correction", "clarification", "amendment", "minor"][n % 4],
                        "reason": _payload(n),
                        "note": _payload(n + 9),
                    },
                )
            )
        ok(
            http.put(
                f"{API}/stories/{SLUG}/updates/{ids[8]}/verification",
                json={"status": "false", "note": _payload(3)},
            )
        )
        ok(
            http.post(
                f"{API}/stories/{SLUG}/updates/{ids[9]}/retraction",
                json={"reason": _payload(4), "note": _payload(5)},
            )
        )
        revised = ok(
            http.patch(
                f"{API}/stories/{SLUG}", json={"title": _payload(6), "summary": _payload(2), "reason": "x"}
            )
        )
        return int(str(revised["version"]))


PLANTED = """() => {
  const found = [];
  for (const element of document.querySelectorAll('*')) {
    for (const attribute of element.attributes) {
      if (attribute.name.startsWith('on')) found.push(element.tagName + '[' + attribute.name + ']');
      const favicon = element.tagName === 'LINK' && element.rel === 'icon' && attribute.value === 'data:,';
      if (!favicon && /^\\s*(javascript|data):/i.test(attribute.value) && ['href', 'src', 'action', 'formaction', 'srcdoc'].includes(attribute.name))
        found.push(element.tagName + '[' + attribute.name + '=' + attribute.value.slice(0, 40) + ']');
    }
  }
  for (const element of document.querySelectorAll('iframe, object, embed, svg, math, details, form:not(.picker), base, meta[http-equiv]'))
    found.push(element.tagName);
  for (const element of document.querySelectorAll('script'))
    if (!element.src || new URL(element.src).origin !== location.origin) found.push('SCRIPT ' + (element.src || 'inline'));
  for (const element of document.querySelectorAll('style'))
    found.push('STYLE');
  return found;
}"""


async def _check(tab: Page, url: str, *, csp: bool) -> str:
    response = await tab.goto(url)
    assert response is not None and response.status == 200, url
    await tab.wait_for_load_state("networkidle")
    if csp:
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, policy
        assert "default-src 'none'" in policy
        assert response.headers.get("x-content-type-options") == "nosniff"
    assert await tab.evaluate("() => window.__pwned") is None, url
    assert await tab.evaluate(PLANTED) == [], url
    text = await tab.inner_text("body")
    assert "<script>" in text, "the payloads are shown as text"
    return text


async def test_injection_payloads_stay_text_on_the_history_page(live_server: LiveServer, page: Page) -> None:  # noqa: F811
    live_server.cli("migrate")
    live_server.start()
    version = _seed(live_server)
    base = f"{live_server.url}/stories/{SLUG}/history"
    for url in (base, f"{base}?version={version}", f"{base}?version={version - 2}", f"{base}?version=12"):
        text = await _check(page, url, csp=True)
        # Shown as written, or as Markdown renders it in an update's label or diff (`7*7 }} ${7*`
        # is emphasis there, as on the live page): never evaluated.
        assert "{{ 7*7 }}" in text or "{{ 77 }}" in text, "template syntax is shown as written"
    assert page.errors == []  # type: ignore[attr-defined]

    async def without_csp(route: Route) -> None:
        fetched = await route.fetch()
        headers = {k: v for k, v in fetched.headers.items() if k.lower() != "content-security-policy"}
        await route.fulfill(response=fetched, headers=headers)

    await page.route("**/stories/**", without_csp)
    for url in (base, f"{base}?version={version}"):
        await _check(page, url, csp=False)
    assert page.errors == []  # type: ignore[attr-defined]
