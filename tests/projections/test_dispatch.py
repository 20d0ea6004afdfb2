"""Outside the domain, every site that depends on an event's type refuses a type it does not
know (``AssertionError`` from ``assert_never``) instead of guessing: the revision history, the
past read model, the live message, the checkpoint policy of the command handler.

The event types are those of ``tests/domain/test_dispatch.py``, standing for a type added to
the code but not yet handled here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from liveblog import application
from liveblog.domain import fold
from liveblog.domain.state import StoryState
from liveblog.live import messages
from liveblog.projections import history, past_views
from liveblog.projections.event_rows import EventRows
from tests.domain.samples import live_story_with_update, minute
from tests.domain.test_dispatch import StoryArchived, UpdateTitled


def story() -> StoryState:
    state = fold(None, live_story_with_update())
    assert state is not None
    return state


SITES: dict[str, Callable[[Any], object]] = {
    "revision rows": lambda event: history.revision_rows(story(), story(), event, None),
    "past read model rows": lambda event: past_views.update_rows(story(), event),
    "rows of an event": lambda event: EventRows().add(story(), story(), event, None),
    "live message": lambda event: messages.event(story(), event),
    "checkpoint on milestones": lambda event: application._seals(event),
}


@pytest.mark.parametrize("site", SITES)
@pytest.mark.parametrize(
    "event",
    [UpdateTitled(update_id="u1", title="Bridge shut", at=minute(6)), StoryArchived(at=minute(6))],
    ids=["update", "story"],
)
def test_an_event_of_an_unknown_type_is_refused_loudly(site: str, event: Any) -> None:
    with pytest.raises(AssertionError, match="Expected code to be unreachable"):
        SITES[site](event)
