"""Given/when/then for the story decider, after Emmett's ``DeciderSpecification``.

    given(opened(), published()).when(CloseStory(story=SLUG, at=t)).then(StoryClosed(at=t))
    given().when(CloseStory(story=SLUG, at=t)).then_raises(StoryNotFound)
    given(opened(), posted(pinned=True)).when(SetFlags(..., pinned=True)).then_nothing()

``given`` folds its events with ``evolve`` from no state, ``when`` names the command, and the
``then`` family runs ``decide`` once and compares its result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import pytest

from liveblog.domain import Command, Event, StoryState, decide, fold
from liveblog.errors import DomainError

E = TypeVar("E", bound=DomainError)


@dataclass(frozen=True)
class Given:
    events: tuple[Event, ...]

    @property
    def state(self) -> StoryState | None:
        return fold(None, self.events)

    def when(self, command: Command) -> When:
        return When(state=self.state, command=command)


@dataclass(frozen=True)
class When:
    state: StoryState | None
    command: Command

    def decided(self) -> list[Event]:
        return decide(self.command, self.state)

    def then(self, *expected: Event) -> None:
        assert expected, "use then_nothing() to expect no events"
        assert self.decided() == list(expected)

    def then_nothing(self) -> None:
        assert self.decided() == []

    def then_raises(self, error: type[E]) -> E:
        with pytest.raises(error) as raised:
            self.decided()
        return raised.value


def given(*events: Event) -> Given:
    return Given(events=events)
