"""Dispatch over events and commands is exhaustive: a type the rules do not know fails loudly.

Every ``match`` over :data:`~liveblog.domain.events.Event` or
:data:`~liveblog.domain.commands.Command` lists each type and ends in ``assert_never``, so
mypy names each site a new type must handle (``tests/test_exhaustive.py`` shows it). At run
time, an event or command of a type outside the unions (here :class:`UpdateTitled` and
:class:`TitleUpdate`, standing for a type added to the code but not yet to the rules) raises
``AssertionError`` at every site: it is never mistaken for a retraction, or for anything else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, get_args

import pytest

from liveblog.domain import commands as c
from liveblog.domain import decide, evolve, fold
from liveblog.domain.events import (
    BaseEvent,
    BaseUpdateEvent,
    Event,
    StoryEvent,
    UpdateEvent,
    update_id_of,
)
from liveblog.domain.replay import command_for, replay
from liveblog.domain.state import StoryState
from tests.domain.samples import SLUG, live_story_with_update, minute
from tests.domain.test_events import ONE_OF_EACH


class UpdateTitled(BaseUpdateEvent):
    """A new update event that no rule handles yet. It carries a reason and a note, as a
    retraction does, so the retraction's rule would have accepted it as one."""

    type: Literal["UpdateTitled"] = "UpdateTitled"
    title: str
    reason: str = "a headline for the update"
    note: str = "a headline for the update"


class StoryArchived(BaseEvent):
    """A new story event that no rule handles yet."""

    type: Literal["StoryArchived"] = "StoryArchived"


class TitleUpdate(c.UpdateCommand):
    """A new command that no rule handles yet."""

    title: str


def titled() -> Any:
    return UpdateTitled(update_id="u1", title="Bridge shut", at=minute(6))


def story() -> StoryState:
    state = fold(None, live_story_with_update())
    assert state is not None
    return state


def members(union: Any) -> set[type]:
    return set(get_args(union))


def test_event_is_the_union_of_story_and_update_events() -> None:
    assert members(get_args(Event)[0]) == members(StoryEvent) | members(UpdateEvent)
    assert not members(StoryEvent) & members(UpdateEvent)


def test_update_events_are_exactly_the_events_with_an_update_id() -> None:
    every = members(get_args(Event)[0])
    assert members(UpdateEvent) == {cls for cls in every if issubclass(cls, BaseUpdateEvent)}
    assert all("update_id" in cls.model_fields for cls in members(UpdateEvent))
    assert not any("update_id" in cls.model_fields for cls in members(StoryEvent))


@pytest.mark.parametrize("event", ONE_OF_EACH, ids=lambda event: event.type)
def test_update_id_of_names_the_update_of_update_events_only(event: Event) -> None:
    expected = event.update_id if isinstance(event, BaseUpdateEvent) else None
    assert update_id_of(event) == expected


EVENT_SITES: dict[str, Callable[[Any], object]] = {
    "evolve": lambda event: evolve(story(), event),
    "command_for": lambda event: command_for(event, SLUG),
    "replay": lambda event: replay(SLUG, (*live_story_with_update(), event)),
    "update_id_of": update_id_of,
}


@pytest.mark.parametrize("site", EVENT_SITES)
@pytest.mark.parametrize("make", [titled, lambda: StoryArchived(at=minute(6))], ids=["update", "story"])
def test_an_event_of_an_unknown_type_is_refused_loudly(site: str, make: Callable[[], Any]) -> None:
    with pytest.raises(AssertionError, match="Expected code to be unreachable"):
        EVENT_SITES[site](make())


def test_a_command_of_an_unknown_type_is_refused_loudly() -> None:
    command: Any = TitleUpdate(story=SLUG, update_id="u1", title="Bridge shut", at=minute(6))
    with pytest.raises(AssertionError, match="Expected code to be unreachable"):
        decide(command, story())
