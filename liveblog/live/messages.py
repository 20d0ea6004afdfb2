"""The messages of docs/api.md "Live delivery", encoded once per event per process."""

from __future__ import annotations

import json
from typing import Any

from liveblog.domain import events as e
from liveblog.domain.state import StoryState
from liveblog.domain.values import rfc3339
from liveblog.projections import views
from liveblog.projections.story_view import dumps


def hello(story: str, version: int) -> str:
    return dumps({"type": "hello", "story": story, "version": version})


def reset(version: int) -> str:
    return dumps({"type": "reset", "version": version})


def heartbeat(version: int) -> str:
    return dumps({"type": "heartbeat", "version": version})


def event(after: StoryState, happened: e.Event) -> str:
    """The message for ``happened``, which brought the story to ``after``."""
    update_id = e.update_id_of(happened)
    update = after.updates.get(update_id) if update_id is not None else None
    return dumps(
        {
            "type": "event",
            "version": after.version,
            "event": happened.type,
            "at": rfc3339(happened.at),
            "story": views.header_view(after),
            "update": None if update is None else views.update_view(after.slug, update),
        }
    )


def redacted(text: str, tombstone: dict[str, Any]) -> str:
    """The event message ``text`` with its update redacted
    (:func:`~liveblog.projections.views.redacted_view` with ``tombstone``): how the hub
    re-encodes what it holds about an update that has since been redacted. The rest of the
    message (the story header, the event's type and time) is kept."""
    message = json.loads(text)
    if message["update"] is not None:
        message["update"] = views.redacted_view(message["update"], tombstone)
    return dumps(message)
