"""The error tree: every class is drawn in ``liveblog.errors``' docstring under its parent,
and every class maps to a status by its most specific class, below 500 unless the storage
is at fault (``StoreError`` and its subclasses: 503, a server that cannot serve now)."""

from __future__ import annotations

import json
import re

import pytest

from liveblog import errors
from liveblog.api import problems

TREE_LINE = re.compile(
    r"^(?P<prefix>(?:[│ ]   |[├└]── )*)(?P<name>[A-Z]\w+)\b.*?(?:\((?P<status>\d{3})\))?\s*$"
)


def every_subclass(cls: type[errors.LiveblogError]) -> list[type[errors.LiveblogError]]:
    found = []
    for subclass in cls.__subclasses__():
        found += [subclass, *every_subclass(subclass)]
    return found


def drawn_tree() -> dict[str, tuple[str | None, int | None]]:
    """Each class in the docstring's tree: ``name -> (parent name, status drawn beside it)``."""
    doc = errors.__doc__ or ""
    drawing = doc.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    drawn: dict[str, tuple[str | None, int | None]] = {}
    path: list[str] = []
    for line in drawing.splitlines():
        match = TREE_LINE.match(line.removeprefix("    "))
        assert match is not None, f"not a line of the tree: {line!r}"
        depth = len(match["prefix"]) // 4
        del path[depth:]
        drawn[match["name"]] = (path[-1] if path else None, int(match["status"]) if match["status"] else None)
        path.append(match["name"])
    return drawn


CLASSES = [errors.LiveblogError, *every_subclass(errors.LiveblogError)]
STORAGE = {errors.StoreError, *every_subclass(errors.StoreError)}


def test_the_walk_finds_the_whole_tree() -> None:
    defined = {
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.LiveblogError)
    }
    assert set(CLASSES) == defined


def test_the_docstring_draws_every_class_under_its_parent() -> None:
    drawn = drawn_tree()
    actual = {
        cls.__name__: (None if cls is errors.LiveblogError else cls.__bases__[0].__name__) for cls in CLASSES
    }
    assert {name: parent for name, (parent, _) in drawn.items()} == actual


def test_the_docstring_shows_exactly_the_statuses_the_http_layer_gives() -> None:
    drawn = drawn_tree()
    for cls in CLASSES:
        own = problems.STATUS_BY_ERROR.get(cls)
        assert drawn[cls.__name__][1] == own, cls.__name__
        assert problems.status_for(cls) == (own if own is not None else problems.status_for(cls.__bases__[0]))


@pytest.mark.parametrize("cls", CLASSES[1:], ids=lambda cls: cls.__name__)
def test_every_error_is_a_client_error_unless_the_storage_is_at_fault(
    cls: type[errors.LiveblogError],
) -> None:
    status = problems.status_for(cls)
    if cls in STORAGE:
        assert status == 503
    elif cls is errors.FormatNotImplemented:
        assert status == 501  # the oEmbed specification's answer to format=xml
    else:
        assert 400 <= status < 500


def test_the_root_alone_is_an_internal_error() -> None:
    assert problems.status_for(errors.LiveblogError) == 500


def test_the_most_specific_class_wins() -> None:
    class DeadlinePassed(errors.Conflict):
        title = "Deadline passed"

    class EmbargoBroken(errors.DomainError):
        pass

    class TokenExpired(errors.Unauthenticated):
        pass

    assert problems.status_of(DeadlinePassed("too late")) == 409
    assert problems.status_of(EmbargoBroken("not yet")) == 422
    assert problems.status_of(TokenExpired("expired")) == 401


def test_a_new_domain_error_is_served_as_a_problem_of_its_own_type_with_its_parents_status() -> None:
    class EmbargoBroken(errors.DomainError):
        pass

    response = problems.from_error(EmbargoBroken("the embargo holds until 06:00"))

    assert response.status_code == 422
    assert json.loads(response.body) == {
        "type": "urn:liveblog:problem:embargo-broken",
        "title": errors.DomainError.title,
        "status": 422,
        "detail": "the embargo holds until 06:00",
    }
