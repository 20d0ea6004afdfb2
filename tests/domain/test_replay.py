"""replay: a log is legal only if every event is what ``decide`` would have produced."""

from __future__ import annotations

import pytest

from liveblog.domain import fold
from liveblog.domain.events import (
    StoryClosed,
    StoryOpened,
    StoryReopened,
    StoryRevised,
    UpdateChanges,
    UpdateCorrected,
    UpdateFlagsChanged,
    VerificationChanged,
)
from liveblog.domain.replay import IllegalEvent, replay
from liveblog.domain.values import ClaimStatus, CorrectionKind
from tests.domain.samples import SLUG, closed, minute, opened, posted, published, redacted, retracted

EVERY_KIND = (
    opened(),
    published(),
    StoryRevised(title="Harbour bridge to stay shut for a week", reason="update", at=minute(2)),
    posted(),
    UpdateCorrected(
        update_id="u1",
        kind=CorrectionKind.CORRECTION,
        changes=UpdateChanges(body="Police have closed one carriageway of the bridge."),
        reason="police clarified",
        note="We first said both carriageways were closed.",
        at=minute(6),
    ),
    VerificationChanged(update_id="u1", status=ClaimStatus.CONFIRMED, at=minute(7)),
    UpdateFlagsChanged(update_id="u1", pinned=True, at=minute(8)),
    retracted(),
    closed(),
    StoryReopened(at=minute(51)),
    redacted(at=minute(52)),
)


def test_a_log_written_through_the_rules_replays_to_the_same_story() -> None:
    assert replay(SLUG, EVERY_KIND) == fold(None, EVERY_KIND)


def test_an_event_the_rules_refuse_is_named_by_its_version() -> None:
    log = (opened(), published(), closed(), posted(at=minute(55)))
    with pytest.raises(IllegalEvent, match="version 4: UpdatePosted refused by the rules") as caught:
        replay(SLUG, log)
    assert caught.value.index == 4


def test_an_event_the_rules_would_produce_differently_is_illegal() -> None:
    backwards = (opened(), published(), posted(at=minute(0)))  # before the story's last event
    with pytest.raises(IllegalEvent, match="version 3: UpdatePosted is not what the rules produce"):
        replay(SLUG, backwards)


def test_a_log_that_opens_another_story_is_illegal() -> None:
    with pytest.raises(IllegalEvent, match="opens story 'elsewhere'"):
        replay(SLUG, (StoryOpened(slug="elsewhere", title="Other", summary="", language="en", at=minute(0)),))


def test_a_second_opening_is_illegal() -> None:
    with pytest.raises(IllegalEvent, match="version 2"):
        replay(SLUG, (opened(), opened(at=minute(1))))


def test_closing_twice_is_illegal() -> None:
    with pytest.raises(IllegalEvent, match="version 4: StoryClosed"):
        replay(SLUG, (opened(), published(), closed(), StoryClosed(at=minute(52))))
