"""Upcasting: stored data of an older schema is read in today's shape, one step at a time,
without touching the stored form; a schema nobody can read is refused by name."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from pydantic import ValidationError

from liveblog.domain.events import Event, StoryPublished, UpdatePosted, event_data
from liveblog.domain.upcasting import UPCASTERS, UnknownSchema, Upcasters, event_from_stored
from tests.domain.samples import posted


def renamed(old: str, new: str) -> Any:
    def upcast(data: dict[str, Any]) -> dict[str, Any]:
        data = dict(data)
        data[new] = data.pop(old)
        return data

    return upcast


def registry() -> Upcasters:
    """UpdatePosted at schema 3: schema 1 called the body ``text``, schema 2 ``copy``."""
    upcasters = Upcasters({"UpdatePosted": 3})
    upcasters.register("UpdatePosted", 1)(renamed("text", "copy"))
    upcasters.register("UpdatePosted", 2)(renamed("copy", "body"))
    return upcasters


def test_every_event_type_is_registered_at_its_current_schema() -> None:
    assert UPCASTERS.current["UpdatePosted"] == UpdatePosted.SCHEMA
    assert UPCASTERS.current["StoryPublished"] == StoryPublished.SCHEMA
    assert len(UPCASTERS.current) == len(get_args(get_args(Event)[0]))  # every type in the union


def test_current_data_is_read_as_it_is() -> None:
    data = event_data(posted())
    assert registry().upcast("UpdatePosted", 3, data) == data
    assert event_from_stored("UpdatePosted", UpdatePosted.SCHEMA, data) == posted()


def test_old_data_is_upcast_step_by_step() -> None:
    stored = {"update_id": "u1", "text": "Police have closed the bridge.", "sources": [{"name": "Police"}]}
    assert registry().upcast("UpdatePosted", 1, stored) == {
        "update_id": "u1",
        "body": "Police have closed the bridge.",
        "sources": [{"name": "Police"}],
    }
    assert registry().upcast("UpdatePosted", 2, {"copy": "x"}) == {"body": "x"}


def test_the_stored_form_is_never_changed() -> None:
    stored = {"text": "Bridge shut", "sources": [{"name": "Police"}]}

    def meddle(data: dict[str, Any]) -> dict[str, Any]:
        data["sources"][0]["name"] = "changed"
        data["copy"] = data.pop("text")
        return data

    upcasters = Upcasters({"UpdatePosted": 3})
    upcasters.register("UpdatePosted", 1)(meddle)
    upcasters.register("UpdatePosted", 2)(renamed("copy", "body"))
    upcasters.upcast("UpdatePosted", 1, stored)
    assert stored == {"text": "Bridge shut", "sources": [{"name": "Police"}]}


def test_a_missing_step_is_refused_by_name() -> None:
    upcasters = Upcasters({"UpdatePosted": 3})
    upcasters.register("UpdatePosted", 2)(renamed("copy", "body"))
    with pytest.raises(UnknownSchema, match="no upcaster reads UpdatePosted events of schema 1"):
        upcasters.upcast("UpdatePosted", 1, {"text": "x"})


def test_a_schema_from_a_newer_liveblog_is_refused() -> None:
    with pytest.raises(UnknownSchema, match="schema 4 is from a newer liveblog"):
        registry().upcast("UpdatePosted", 4, {"body": "x"})
    with pytest.raises(UnknownSchema):
        event_from_stored("UpdatePosted", UpdatePosted.SCHEMA + 1, event_data(posted()))


def test_an_unknown_type_is_left_to_validation() -> None:
    assert registry().upcast("StoryDeleted", 1, {"at": "x"}) == {"at": "x"}
    with pytest.raises(ValidationError, match="StoryDeleted"):
        event_from_stored("StoryDeleted", 1, {"at": "2025-03-14T06:33:00Z"})


@pytest.mark.parametrize(
    ("event_type", "from_schema", "message"),
    [
        ("StoryDeleted", 0, "there is no event type 'StoryDeleted'"),
        ("UpdatePosted", 3, "at schema 3; 3 is not older"),
        ("UpdatePosted", 2, "already have an upcaster from schema 2"),
    ],
)
def test_a_registration_that_cannot_be_used_is_refused(
    event_type: str, from_schema: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        registry().register(event_type, from_schema)


def test_an_upcaster_can_be_removed() -> None:
    upcasters = registry()
    upcasters.unregister("UpdatePosted", 1)
    with pytest.raises(UnknownSchema):
        upcasters.upcast("UpdatePosted", 1, {"text": "x"})
