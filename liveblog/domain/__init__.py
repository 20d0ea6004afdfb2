"""The pure core of liveblog: a story's events, commands, state, ``decide`` and ``evolve``.

Nothing here performs I/O, reads a clock or generates identifiers: times and ids arrive
inside commands. ``tests/test_architecture.py`` enforces this.
"""

from liveblog.domain.commands import Command
from liveblog.domain.decider import decide, evolve, fold
from liveblog.domain.events import Event
from liveblog.domain.state import StoryState, UpdateState

__all__ = ["Command", "Event", "StoryState", "UpdateState", "decide", "evolve", "fold"]
