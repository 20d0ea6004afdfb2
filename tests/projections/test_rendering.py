"""Markdown diffs rendered for the history page (issue #13, point 5): the text as readers
read it (never a raw ``**``), deletions in ``<del>`` and insertions in ``<ins>``, and nothing
an editor typed ever becoming markup."""

from __future__ import annotations

import pytest

from liveblog.projections.diffs import word_diff
from liveblog.projections.rendering import markdown_diff_to_html, markdown_to_html


def rendered(old: str, new: str) -> str:
    return markdown_diff_to_html(word_diff(old, new))


def test_a_change_inside_bold_text_keeps_the_bold_and_marks_the_words() -> None:
    html = rendered("Sirens in **the centre**.", "Sirens in **the north** at 5.")
    assert (
        html == "<p>Sirens in <strong>the <del>centre</del><ins>north</ins></strong><ins> at 5</ins>.</p>\n"
    )


def test_a_change_across_paragraphs_marks_each_block_on_its_own() -> None:
    html = rendered("One.\n\nTwo.", "One.\n\nTwo and\n\nthree.")
    assert "**" not in html
    assert html.count("<p>") == 3 and "<ins>three</ins>" in html
    assert html.count("<ins>") == html.count("</ins>")


def test_making_a_word_bold_shows_it_bold_without_its_stars() -> None:
    html = rendered("Smoke reached the old town.", "Smoke reached the **old town**.")
    assert "<strong>old town</strong>" in html and "*" not in html


def test_a_changed_link_url_falls_back_to_the_rendered_words() -> None:
    html = rendered("See [the map](https://a.example.org).", "See [the plan](https://b.example.org).")
    assert html == "<p>See the <del>map</del><ins>plan</ins>.</p>"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Safe.", "Safe. <script>alert(1)</script>"),
        ("a", "a <img src=x onerror=alert(1)>"),
        ("[x](https://a.example.org)", "[x](javascript:alert(1))"),
        ("plain \ue000 marks \ue003", "plain \ue002 marks \ue001 <b>b</b>"),
    ],
)
def test_nothing_typed_becomes_markup(old: str, new: str) -> None:
    html = rendered(old, new)
    for bad in ("<script", "<img", "<b>", 'href="javascript', "\ue000", "\ue001", "\ue002", "\ue003"):
        assert bad not in html, html


def test_an_unchanged_text_renders_as_the_page_renders_it() -> None:
    text = "A **bold** claim with [a link](https://example.org) and `code`."
    assert rendered(text, text) == markdown_to_html(text)
