"""axe-core (Deque's accessibility engine, from the npm registry: the repository's
``package.json``, installed by ``npm ci``) run inside a Playwright page.

:func:`serious_violations` injects ``node_modules/axe-core/axe.min.js`` and runs it. It
evaluates the file's source in the page rather than using Playwright's
``add_script_tag(path=...)``: that adds an inline ``<script>``, which liveblog's pages refuse
(their CSP's ``script-src 'self'`` admits no inline script: axe never loads and the page
logs a CSP violation), whereas ``evaluate`` runs in the page whatever its CSP says, on a
page with no CSP alike. Where axe-core is not installed it fails loudly (an
AssertionError, never a skip): an accessibility check that does not run must never pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def axe_source() -> str:
    """The text of axe-core's script; an AssertionError if it is not installed."""
    assert AXE.is_file(), f"axe-core is not installed at {AXE}: run `npm ci` in {REPO} (make test does)"
    return AXE.read_text(encoding="utf-8")


async def inject(page: Page) -> None:
    """Put ``window.axe`` in ``page`` (once), by evaluating axe-core's source in it."""
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.evaluate(axe_source())
    assert await page.evaluate("typeof window.axe === 'object'"), "axe-core did not load in the page"


async def violations(page: Page, *, impacts: tuple[str, ...] = SERIOUS) -> list[dict[str, Any]]:
    """axe-core's violations (WCAG 2.x A and AA and best practices) of ``impacts`` on ``page``
    as it now is, each with its rule id, impact, help text and the failing elements."""
    await inject(page)
    found: list[dict[str, Any]] = await page.evaluate(
        """async (tags) => {
          const results = await window.axe.run(document, { runOnly: { type: "tag", values: tags } });
          return results.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => ({ target: n.target, html: n.html, summary: n.failureSummary })),
          }));
        }""",
        TAGS,
    )
    return [violation for violation in found if violation["impact"] in impacts]


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    """The serious and critical axe-core violations on ``page``: a test asserts none."""
    return await violations(page, impacts=SERIOUS)
