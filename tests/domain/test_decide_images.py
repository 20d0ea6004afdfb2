"""``decide`` and uploaded images: an image by id is posted or corrected in only with its alt
text and the facts the server records from the upload (so a forged log fails check 7)."""

from __future__ import annotations

import pytest

from liveblog.domain.commands import CorrectUpdate, PostUpdate
from liveblog.domain.events import UpdateChanges, UpdateCorrected, UpdatePosted
from liveblog.domain.values import STORED, CorrectionKind, Media
from liveblog.errors import ImageUnresolved
from tests.domain.samples import AUTHOR, BODY, SLUG, live_story, live_story_with_update, minute
from tests.domain.spec import given

IMAGE_ID = "cd" * 32
RESOLVED = {
    "kind": "image",
    "id": IMAGE_ID,
    "alt": "The pier from the water",
    "content_type": "image/jpeg",
    "width": 1000,
    "height": 750,
    "widths": [320, 640, 1000],
}


def image(**changes: object) -> Media:
    """An image item as recorded (read as stored, so that the value rules let a broken one by)."""
    return Media.model_validate({**RESOLVED, **changes}, context=STORED)


def test_a_resolved_image_is_posted_and_corrected_in() -> None:
    given(*live_story()).when(
        PostUpdate(story=SLUG, update_id="u1", body=BODY, author=AUTHOR, at=minute(5), media=(image(),))
    ).then(UpdatePosted(update_id="u1", body=BODY, author=AUTHOR, media=(image(),), at=minute(5)))
    other = image(id="ef" * 32)
    given(*live_story_with_update()).when(
        CorrectUpdate(
            story=SLUG,
            update_id="u1",
            changes=UpdateChanges(media=(other,)),
            kind=CorrectionKind.MINOR,
            reason="better photo",
            at=minute(10),
        )
    ).then(
        UpdateCorrected(
            update_id="u1",
            kind=CorrectionKind.MINOR,
            changes=UpdateChanges(media=(other,)),
            reason="better photo",
            at=minute(10),
        )
    )


@pytest.mark.parametrize(
    "broken",
    [
        {"alt": None},
        {"url": "https://example.org/a.jpg"},
        {"kind": "video"},
        {"content_type": None},
        {"width": None},
        {"height": None},
        {"widths": None},
        {"widths": []},
        {"widths": [320, 640]},
    ],
)
def test_an_unresolved_image_is_refused(broken: dict[str, object]) -> None:
    item = {**RESOLVED, **broken}
    # As a replayed log builds them: from what was recorded, the value rules not run again.
    post = PostUpdate.model_validate(
        {"story": SLUG, "update_id": "u1", "body": BODY, "author": AUTHOR, "at": minute(5), "media": [item]},
        context=STORED,
    )
    given(*live_story()).when(post).then_raises(ImageUnresolved)
    correct = CorrectUpdate.model_validate(
        {
            "story": SLUG,
            "update_id": "u1",
            "changes": {"media": [item]},
            "kind": "minor",
            "reason": "r",
            "at": minute(10),
        },
        context=STORED,
    )
    given(*live_story_with_update()).when(correct).then_raises(ImageUnresolved)


def test_replay_refuses_a_recorded_image_without_alt_text() -> None:
    from liveblog.domain.replay import IllegalEvent, replay

    stored = UpdatePosted.model_validate(
        {
            "update_id": "u1",
            "body": BODY,
            "author": AUTHOR,
            "at": minute(5),
            "media": [{**RESOLVED, "alt": None}],
        },
        context=STORED,
    )
    with pytest.raises(IllegalEvent, match="alt"):
        replay(SLUG, [*live_story(), stored])
