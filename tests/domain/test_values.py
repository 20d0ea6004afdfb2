"""Validation of the values commands and events carry: text, URLs, times, slugs and limits."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from liveblog.domain.commands import OpenStory, PostUpdate
from liveblog.domain.events import StoryClosed, StoryOpened, UpdateChanges, event_from_data
from liveblog.domain.values import MAX_BODY_CHARS, STORED, Claim, Media, MediaKind, Source, rfc3339
from tests.domain.samples import AUTHOR, BODY, SLUG, T0, TITLE

DECOMPOSED_CAFE = "Cafe\u0301"  # "e" followed by a combining acute accent
COMPOSED_CAFE = "Caf\u00e9"


def post(**fields: object) -> PostUpdate:
    return PostUpdate.model_validate(
        {"story": SLUG, "update_id": "u1", "body": BODY, "author": AUTHOR, "at": T0, **fields}
    )


def open_story(**fields: object) -> OpenStory:
    return OpenStory.model_validate({"story": SLUG, "title": TITLE, "at": T0, **fields})


# --------------------------------------------------------------------------- text


def test_a_title_is_normalised_to_nfc() -> None:
    story = open_story(title=f"{DECOMPOSED_CAFE} fire closes quay")
    assert story.title == f"{COMPOSED_CAFE} fire closes quay"


def test_a_body_is_normalised_to_nfc() -> None:
    assert post(body=f"The {DECOMPOSED_CAFE} reopened.").body == f"The {COMPOSED_CAFE} reopened."


def test_a_source_name_and_a_claim_note_are_normalised_to_nfc() -> None:
    assert Source(name=DECOMPOSED_CAFE).name == COMPOSED_CAFE
    assert Claim(status="confirmed", note=DECOMPOSED_CAFE).note == COMPOSED_CAFE


def test_a_title_is_stripped_of_surrounding_white_space() -> None:
    assert open_story(title="  Ferry strike called off \n").title == "Ferry strike called off"


def test_a_blank_title_is_rejected() -> None:
    with pytest.raises(ValidationError):
        open_story(title="   ")


@pytest.mark.parametrize("body", ["", " ", "\n\t  \n"], ids=["empty", "space", "white-space"])
def test_a_blank_body_is_rejected(body: str) -> None:
    with pytest.raises(ValidationError):
        post(body=body)


def test_a_body_keeps_its_own_white_space() -> None:
    markdown = "  * first point\n  * second point\n"
    assert post(body=markdown).body == markdown


def test_a_body_of_exactly_the_limit_is_accepted() -> None:
    assert len(post(body="a" * MAX_BODY_CHARS).body) == MAX_BODY_CHARS == 20_000


def test_a_body_one_character_over_the_limit_is_rejected() -> None:
    with pytest.raises(ValidationError):
        post(body="a" * (MAX_BODY_CHARS + 1))


def test_the_body_limit_applies_to_the_text_as_stored_after_normalisation() -> None:
    # U+0958 (DEVANAGARI LETTER QA) is a composition exclusion: NFC turns it into two code points.
    # A body accepted within the limit must still be within the limit once normalised, or the
    # event decide builds from it fails its own validation.
    text = "\u0958" * MAX_BODY_CHARS
    assert len(unicodedata.normalize("NFC", text)) == 2 * MAX_BODY_CHARS
    with pytest.raises(ValidationError):
        post(body=text)


# --------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html;base64,PGgxPmhpPC9oMT4=",
        "ftp://files.example/report.pdf",
        "//media.example/pier.jpg",
        "/pier.jpg",
        "https://",
        "http:// spaced.example",
        "",
    ],
)
def test_anything_but_an_absolute_http_or_https_url_is_rejected(url: str) -> None:
    with pytest.raises(ValidationError):
        Source(name="Port authority", url=url)
    with pytest.raises(ValidationError):
        Media(kind=MediaKind.LINK, url=url)


@pytest.mark.parametrize(
    "url", ["https://port.example/notices/42", "http://port.example", "HTTPS://PORT.EXAMPLE/a?b=c#d"]
)
def test_http_and_https_urls_are_accepted(url: str) -> None:
    assert Source(name="Port authority", url=url).url == url


def test_a_url_is_stripped_of_surrounding_white_space() -> None:
    assert Media(kind=MediaKind.IMAGE, url="  https://media.example/pier.jpg ").url == (
        "https://media.example/pier.jpg"
    )


# -------------------------------------------------------------------------- times


def test_a_naive_time_is_rejected() -> None:
    with pytest.raises(ValidationError):
        post(at=datetime(2025, 3, 14, 9, 0))


def test_a_naive_time_of_the_reported_fact_is_rejected() -> None:
    with pytest.raises(ValidationError):
        post(occurred_at=datetime(2025, 3, 14, 9, 0))


def test_a_time_with_an_offset_is_kept_in_utc() -> None:
    lisbon_summer = timezone(timedelta(hours=1))
    command = post(at=datetime(2025, 7, 1, 10, 0, tzinfo=lisbon_summer))
    assert command.at == datetime(2025, 7, 1, 9, 0, tzinfo=UTC)
    assert command.at.utcoffset() == timedelta(0)
    assert command.at.tzinfo == UTC


def test_an_rfc3339_string_with_an_offset_is_kept_in_utc() -> None:
    command = post(occurred_at="2025-07-01T10:00:00-04:00")
    assert command.occurred_at == datetime(2025, 7, 1, 14, 0, tzinfo=UTC)
    assert command.occurred_at is not None and command.occurred_at.tzinfo == UTC


# -------------------------------------------------------------- slugs and ids


@pytest.mark.parametrize("slug", ["a", "harbour-bridge", "g7-summit-2025", "-", "x" * 80])
def test_a_lowercase_slug_of_up_to_80_characters_is_accepted(slug: str) -> None:
    assert open_story(story=slug).story == slug


@pytest.mark.parametrize(
    "slug",
    ["", "Harbour-bridge", "harbour bridge", "harbour_bridge", "café", "x" * 81, "harbour\n", "../etc"],
)
def test_a_slug_outside_the_pattern_is_rejected(slug: str) -> None:
    with pytest.raises(ValidationError):
        open_story(story=slug)


@pytest.mark.parametrize("update_id", ["", "has space", "x" * 65, "ü"])
def test_an_update_id_outside_the_pattern_is_rejected(update_id: str) -> None:
    with pytest.raises(ValidationError):
        post(update_id=update_id)


@pytest.mark.parametrize("language", ["english", "EN", "e", "en-"])
def test_a_language_outside_the_tag_pattern_is_rejected(language: str) -> None:
    with pytest.raises(ValidationError):
        open_story(language=language)


# ------------------------------------------------------------------------- limits


def test_twenty_sources_are_accepted() -> None:
    sources = tuple(Source(name=f"Witness {n}") for n in range(20))
    assert len(post(sources=sources).sources) == 20


def test_more_than_twenty_sources_are_rejected() -> None:
    with pytest.raises(ValidationError):
        post(sources=tuple(Source(name=f"Witness {n}") for n in range(21)))


def test_more_than_twenty_sources_in_a_correction_are_rejected() -> None:
    with pytest.raises(ValidationError):
        UpdateChanges(sources=tuple(Source(name=f"Witness {n}") for n in range(21)))


def test_more_than_twenty_media_are_rejected() -> None:
    photo = Media(kind=MediaKind.IMAGE, url="https://media.example/pier.jpg")
    with pytest.raises(ValidationError):
        post(media=(photo,) * 21)


def test_an_unknown_field_is_rejected() -> None:
    with pytest.raises(ValidationError):
        post(editor_notes="secret")


def test_values_are_immutable() -> None:
    source = Source(name="Coastguard")
    with pytest.raises(ValidationError):
        source.name = "Someone else"  # type: ignore[misc]


# ------------------------------------------------------------------ update changes


def test_changes_with_no_field_set_are_empty() -> None:
    assert UpdateChanges().is_empty()


@pytest.mark.parametrize(
    "changes",
    [
        UpdateChanges(body=BODY),
        UpdateChanges(byline=""),
        UpdateChanges(sources=()),
        UpdateChanges(occurred_at=T0),
        UpdateChanges(media=()),
    ],
    ids=["body", "empty byline", "no sources", "occurred_at", "no media"],
)
def test_changes_with_any_field_set_are_not_empty(changes: UpdateChanges) -> None:
    assert not changes.is_empty()


def test_a_nul_character_is_refused_in_text() -> None:
    with pytest.raises(ValidationError, match="NUL"):
        Source(name="Port\x00authority")


def test_text_fields_refuse_other_types() -> None:
    with pytest.raises(ValidationError):
        Source(name=42)  # type: ignore[arg-type]


def test_a_time_that_leaves_the_calendar_in_utc_is_refused() -> None:
    with pytest.raises(ValidationError, match="between the years 1 and 9999"):
        StoryClosed(at=datetime(9999, 12, 31, 23, 59, tzinfo=timezone(-timedelta(hours=23, minutes=59))))


def test_rfc3339_renders_utc_with_a_z_and_none_as_none() -> None:
    assert (
        rfc3339(datetime(2023, 6, 4, 16, 34, tzinfo=timezone(timedelta(hours=3)))) == "2023-06-04T13:34:00Z"
    )
    assert rfc3339(None) is None


# ----------------------------------------------------------------------- text, new and stored


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("Ferry \x1b[31m strike", "control character U+001B"),
        ("Ferry\tstrike", "control character U+0009"),
        ("Ferry\nstrike", "control character U+000A"),
        ("Ferry \x7f strike", "control character U+007F"),
        ("Ferry \x9b strike", "control character U+009B"),
        ("Ferry \ud800 strike", "unpaired surrogate"),
        ("Ferry \u202e strike", "bidirectional control U+202E"),
        ("Ferry \u2067 strike", "bidirectional control U+2067"),
    ],
)
def test_a_headline_refuses_controls_surrogates_and_bidi_overrides(text: str, complaint: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(complaint)):
        open_story(title=text)


def test_invisible_characters_leave_a_headline_but_joiners_stay() -> None:
    assert open_story(title="\ufeffFerry\u200b strike\u2060").title == "Ferry strike"
    assert open_story(title="می\u200cخواهم 👩\u200d🚒").title == "می\u200cخواهم 👩\u200d🚒"


def test_prose_keeps_tabs_and_line_breaks_and_turns_cr_into_lf() -> None:
    assert post(body="a\tb\r\nc\rd\ne").body == "a\tb\nc\nd\ne"
    with pytest.raises(ValidationError, match=re.escape("control character U+000C")):
        post(body="page\x0cbreak")


@pytest.mark.parametrize("url", ["https://x.org/a\x00b", "https://x.org/a\x01b", "https://x.org/a b"])
def test_a_link_with_a_control_character_or_a_space_is_refused(url: str) -> None:
    with pytest.raises(ValidationError):
        Source(name="Agency", url=url)


def test_what_was_stored_before_a_rule_existed_still_reads_back() -> None:
    # An event recorded under older, laxer rules must stay readable: the log is the truth.
    stored = {
        "at": "2026-01-01T00:00:00Z",
        "slug": SLUG,
        "title": "Ferry \u202e strike",
        "summary": "",
        "language": "en",
    }
    event = event_from_data("StoryOpened", stored)
    assert isinstance(event, StoryOpened) and event.title == "Ferry \u202e strike"
    assert Source.model_validate({"name": "A", "url": "https://x.org/a b"}, context=STORED).url == (
        "https://x.org/a b"
    )
    with pytest.raises(ValidationError):
        Source.model_validate({"name": "A", "url": "https://x.org/a b"})
