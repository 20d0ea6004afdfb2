"""Upcasting: reading events stored in an older shape as the events of today.

Stored events are never rewritten. Each row of the log keeps the ``type`` and ``schema``
it was written with, and its ``data`` exactly as written (the hash chain covers that stored
form). When an event type's shape changes, its class's ``SCHEMA`` goes up by one and an
upcaster is registered for the schema it replaces::

    @UPCASTERS.register("UpdatePosted", from_schema=1)
    def _credit(data: dict[str, Any]) -> dict[str, Any]:
        # schema 2 renamed ``byline`` to ``credit``
        if "byline" in data:
            data["credit"] = data.pop("byline")
        return data

An upcaster takes the data of schema ``n`` (a copy: it may change it) and returns that of
schema ``n + 1`` in the form ``event_data`` would write it (the audit verifier checks that
form); reading a row applies them one after the other, up to the class's ``SCHEMA``. This
happens in one place, :func:`event_from_stored`, through which every reader of the log turns
a stored row into an event (the command handler, the live hub, a rebuild of the read
models, the audit verifier). Whatever shows the log itself (the events API, the export)
shows the stored form, which is what its hashes are computed over.

A new optional field whose absence means its default (``title: Title | None = None``) needs
no new schema: old data already validates, and reads with the default.

Upcasters are registered at the end of this module, so that every reader has them.
No event type has changed shape yet, so none is registered: every type is at schema 1. ``docs/adding-an-event.md`` says when a change needs a new schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, get_args

from liveblog.domain.events import Event, StoryEvent, UpdateEvent, event_from_data
from liveblog.domain.redaction import with_placeholders

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownSchema(ValueError):
    """A stored event's schema that no chain of upcasters brings to the current one."""


class Upcasters:
    """The upcasters of each event type, by the schema they read."""

    def __init__(self, current: Mapping[str, int]) -> None:
        self.current = dict(current)
        self._steps: dict[tuple[str, int], Upcaster] = {}

    def register(self, event_type: str, from_schema: int) -> Callable[[Upcaster], Upcaster]:
        """A decorator registering an upcaster of ``event_type`` from ``from_schema`` to the
        next schema. Raises ``ValueError`` for an unknown type, a schema that is not older
        than the current one, or a step that already has an upcaster."""
        current = self.current.get(event_type)
        if current is None:
            raise ValueError(f"there is no event type {event_type!r}")
        if from_schema >= current:
            raise ValueError(f"{event_type} events are at schema {current}; {from_schema} is not older")
        if (event_type, from_schema) in self._steps:
            raise ValueError(f"{event_type} events already have an upcaster from schema {from_schema}")

        def add(upcaster: Upcaster) -> Upcaster:
            self._steps[event_type, from_schema] = upcaster
            return upcaster

        return add

    def unregister(self, event_type: str, from_schema: int) -> None:
        """Remove an upcaster (for tests that register one of their own)."""
        del self._steps[event_type, from_schema]

    def upcast(self, event_type: str, schema: int, data: Mapping[str, Any]) -> dict[str, Any]:
        """``data`` of an ``event_type`` event stored at ``schema``, in the current shape.

        Data already current is returned as it is; older data is copied first, so the
        stored form is never changed. An unknown type is left to validation to refuse.
        Raises :class:`UnknownSchema` for a schema newer than the current one, or older
        with no upcaster for one of the steps.
        """
        current = self.current.get(event_type, schema)
        if schema > current:
            raise UnknownSchema(
                f"{event_type} events are at schema {current}; schema {schema} is from a newer liveblog"
            )
        if schema == current:
            return dict(data)
        shaped: dict[str, Any] = _copy(dict(data))
        for step in range(schema, current):
            upcaster = self._steps.get((event_type, step))
            if upcaster is None:
                raise UnknownSchema(f"no upcaster reads {event_type} events of schema {step}")
            shaped = upcaster(shaped)
        return shaped


def _copy(value: Any) -> Any:
    """A deep copy of JSON data (objects and arrays copied, scalars shared)."""
    if isinstance(value, dict):
        return {name: _copy(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


UPCASTERS = Upcasters(
    {cls.model_fields["type"].default: cls.SCHEMA for cls in get_args(StoryEvent) + get_args(UpdateEvent)}
)
"""The registry every read of the log goes through."""


def event_from_stored(
    event_type: str, schema: int, data: Mapping[str, Any], *, redacted: bool = False
) -> Event:
    """The event a stored row holds: its data upcast from ``schema`` to the current shape,
    then validated. Raises :class:`UnknownSchema`, or ``pydantic.ValidationError`` for an
    unknown type or data that does not fit.

    ``redacted``: the row lost its text to a redaction; the removed members are filled with
    placeholders after upcasting (:func:`liveblog.domain.redaction.with_placeholders`), so an
    upcaster must accept data without them."""
    current = UPCASTERS.upcast(event_type, schema, data)
    if redacted:
        current = with_placeholders(event_type, current)
    return event_from_data(event_type, current)
