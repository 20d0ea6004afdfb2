"""docs/api.md "Updates": post, list (cursor), read (ETag), correct, verify, flag, retract."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from liveblog.api import updates
from liveblog.store.database import Database
from tests.api.fixtures_extra import API, all_keys, assert_problem_of, assert_validation, elements, stream
from tests.api.helpers import event_count, open_story, post_update

UPDATE_KEYS = {
    "id",
    "story",
    "revision",
    "status",
    "body",
    "body_html",
    "byline",
    "title",
    "author",
    "sources",
    "media",
    "verification",
    "key_event",
    "pinned",
    "occurred_at",
    "published_at",
    "revised_at",
    "notes",
    "retraction",
}
STORY = f"{API}/stories/border-raid"
UPDATES = f"{STORY}/updates"


def correction(body: str = "Fighters crossed the border at noon.", **fields: Any) -> dict[str, Any]:
    return {
        "changes": {"body": body},
        "kind": "correction",
        "reason": "INTERNAL-desk-called-the-ministry",
        "note": "An earlier version gave the wrong time.",
        **fields,
    }


async def test_post_returns_201_with_location_etag_and_the_update(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    before = await event_count(database)
    response = await client.post(
        UPDATES,
        json={
            "body": "Fighters **crossed** the border.",
            "byline": "  Kim Reporter  ",
            "sources": [
                {"name": "Ministry", "url": "https://ministry.example/statement"},
                {"name": "Witness"},
            ],
            "verification": {"status": "disputed", "note": "One source only"},
            "key_event": True,
            "pinned": True,
            "occurred_at": "2025-03-14T08:30:00+02:00",
            "media": [{"kind": "image", "url": "https://media.example/a.jpg", "caption": "The crossing"}],
        },
        headers=editor,
    )
    assert response.status_code == 201, response.text
    update = response.json()
    assert set(update) == UPDATE_KEYS
    assert response.headers["location"] == f"/api/v1/stories/border-raid/updates/{update['id']}"
    assert response.headers["etag"] == '"1"'
    assert update["story"] == "border-raid"
    assert update["revision"] == 1 and update["status"] == "published"
    assert update["body"] == "Fighters **crossed** the border."
    assert "<strong>crossed</strong>" in update["body_html"]
    assert update["byline"] == "Kim Reporter"
    assert update["author"] == {"name": "Olena Editor"}
    assert update["sources"] == [
        {"name": "Ministry", "url": "https://ministry.example/statement"},
        {"name": "Witness", "url": None},
    ]
    assert update["media"] == [
        {"kind": "image", "url": "https://media.example/a.jpg", "caption": "The crossing"}
    ]
    assert update["verification"]["status"] == "disputed"
    assert update["verification"]["note"] == "One source only"
    assert update["key_event"] is True and update["pinned"] is True
    assert update["occurred_at"] == "2025-03-14T06:30:00Z"
    assert update["revised_at"] is None and update["notes"] == [] and update["retraction"] is None
    assert await event_count(database) == before + 1
    events = await stream(database, "border-raid")
    assert events[-1].type == "UpdatePosted" and events[-1].version == 3
    assert events[-1].metadata["actor"]["name"] == "Olena Editor"
    assert events[-1].metadata["actor"]["role"] == "editor"

    fetched = await client.get(response.headers["location"])
    assert fetched.status_code == 200 and fetched.json() == update
    story = (await client.get(STORY)).json()
    assert story["version"] == 3
    assert [u["id"] for u in story["updates"]] == [update["id"]]
    assert [u["id"] for u in story["pinned"]] == [update["id"]]
    assert [u["id"] for u in story["key_events"]] == [update["id"]]


async def test_posting_to_a_closed_story_is_409_until_it_is_reopened(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    assert (await client.post(f"{STORY}/close", headers=editor)).status_code == 200
    before = await event_count(database)
    response = await client.post(UPDATES, json={"body": "Too late"}, headers=editor)
    assert_problem_of(response, 409, "story-is-closed")
    assert await event_count(database) == before
    assert (await client.get(UPDATES)).json()["items"] == []
    assert (await client.post(f"{STORY}/reopen", headers=editor)).status_code == 200
    update = await post_update(client, editor, body="Back again")
    assert update["body"] == "Back again"


async def test_an_unknown_update_is_404_on_every_route(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    await open_story(client, editor, slug="other-story")
    foreign = await post_update(client, editor, slug="other-story")
    before = await event_count(database)
    for update_id in ("doesnotexist", foreign["id"]):
        base = f"{UPDATES}/{update_id}"
        for method, path, body in (
            ("GET", base, None),
            ("POST", f"{base}/corrections", correction()),
            ("PUT", f"{base}/verification", {"status": "confirmed"}),
            ("PUT", f"{base}/flags", {"pinned": True}),
            ("POST", f"{base}/retraction", {"reason": "r", "note": "n"}),
        ):
            response = await client.request(method, path, json=body, headers=editor)
            assert response.status_code == 404, (method, path, response.text)
            assert_problem_of(response, 404, "update-not-found")
    assert await event_count(database) == before
    # The update of the other story is untouched and still reachable where it lives.
    assert (await client.get(f"{API}/stories/other-story/updates/{foreign['id']}")).json() == foreign


async def test_an_update_id_of_the_wrong_shape_is_422(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor)
    for update_id in ("a" * 65, "has space", "dot.dot", "ünï"):
        response = await client.get(f"{UPDATES}/{update_id}")
        assert response.status_code == 422, (update_id, response.text)
        assert_validation(response, ("path", "update_id"))


async def test_get_update_etag_and_if_none_match(client: httpx.AsyncClient, editor: dict[str, str]) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor)
    url = f"{UPDATES}/{update['id']}"
    first = await client.get(url)
    assert first.headers["etag"] == '"1"'
    cached = await client.get(url, headers={"If-None-Match": '"1"'})
    assert cached.status_code == 304 and cached.content == b"" and cached.headers["etag"] == '"1"'
    weak = await client.get(url, headers={"If-None-Match": 'W/"1"'})
    assert weak.status_code == 304
    other = await client.get(url, headers={"If-None-Match": '"2"'})
    assert other.status_code == 200 and other.json() == update

    flagged = await client.put(f"{url}/flags", json={"pinned": True}, headers=editor)
    assert flagged.status_code == 200 and flagged.headers["etag"] == '"2"'
    changed = await client.get(url, headers={"If-None-Match": '"1"'})
    assert changed.status_code == 200
    assert changed.headers["etag"] == '"2"' and changed.json()["revision"] == 2


# ------------------------------------------------------------------------------------ paging


async def test_cursor_pagination_over_45_updates(client: httpx.AsyncClient, editor: dict[str, str]) -> None:
    await open_story(client, editor)
    posted = [(await post_update(client, editor, body=f"Update number {n}"))["id"] for n in range(45)]
    newest_first = list(reversed(posted))

    pages: list[list[str]] = []
    cursor: str | None = None
    for _ in range(4):
        params: dict[str, str | int] = {"limit": 20}
        if cursor is not None:
            params["before"] = cursor
        response = await client.get(UPDATES, params=params)
        assert response.status_code == 200, response.text
        document = response.json()
        assert set(document) == {"items", "next"}
        pages.append([item["id"] for item in document["items"]])
        cursor = document["next"]
        if cursor is None:
            break
        assert isinstance(cursor, str) and cursor
    assert [len(page) for page in pages] == [20, 20, 5]
    flat = [update_id for page in pages for update_id in page]
    assert len(set(flat)) == 45
    assert flat == newest_first

    story = (await client.get(STORY)).json()
    assert [u["id"] for u in story["updates"]] == pages[0]
    assert story["next"] is not None
    second = await client.get(UPDATES, params={"before": story["next"], "limit": 20})
    assert [u["id"] for u in second.json()["items"]] == pages[1]

    default = (await client.get(UPDATES)).json()
    assert [u["id"] for u in default["items"]] == pages[0]
    everything = (await client.get(UPDATES, params={"limit": 100})).json()
    assert [u["id"] for u in everything["items"]] == newest_first and everything["next"] is None
    exactly = (await client.get(UPDATES, params={"limit": 45})).json()
    assert len(exactly["items"]) == 45 and exactly["next"] is None


async def test_a_cursor_is_stable_while_new_updates_arrive(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor)
    old = [(await post_update(client, editor, body=f"Old {n}"))["id"] for n in range(6)]
    first = (await client.get(UPDATES, params={"limit": 3})).json()
    assert [u["id"] for u in first["items"]] == old[:2:-1]
    for n in range(4):
        await post_update(client, editor, body=f"New {n}")
    second = (await client.get(UPDATES, params={"limit": 3, "before": first["next"]})).json()
    assert [u["id"] for u in second["items"]] == old[2::-1]
    assert second["next"] is None


async def test_a_bad_cursor_is_422(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    await post_update(client, editor)
    before = await event_count(database)
    for cursor, kind in (
        ("garbage", "invalid-input"),
        ("u", "invalid-input"),
        ("u-1", "invalid-input"),
        ("u+1", "invalid-input"),
        ("u1.5", "invalid-input"),
        ("u 1", "invalid-input"),
        ("U12", "invalid-input"),
        ("x12", "invalid-input"),
        ("", "invalid-input"),
        ("u" + "9" * 40, "validation-failed"),
    ):
        response = await client.get(UPDATES, params={"before": cursor})
        assert response.status_code == 422, (cursor, response.text)
        assert_problem_of(response, 422, kind)
    assert await event_count(database) == before


async def test_a_cursor_with_non_ascii_digits_is_422(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    """`str.isdigit()` is true for "²", but `int("²")` raises: this must be a 422, not a crash."""
    await open_story(client, editor)
    await post_update(client, editor)
    before = await event_count(database)
    for cursor in ("u²", "u1²", "u①"):  # superscript two, circled digit one
        response = await client.get(UPDATES, params={"before": cursor})
        assert response.status_code == 422, (cursor, response.text)
        assert_problem_of(response, 422, "invalid-input")
    assert await event_count(database) == before


async def test_a_cursor_beyond_any_version_is_not_a_server_error(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    """`u99999999999` decodes (11 digits) but does not fit a 32-bit column: 200 or 422, never 5xx."""
    await open_story(client, editor)
    update = await post_update(client, editor)
    for cursor in ("u2147483647", "u2147483648", "u99999999999"):
        response = await client.get(UPDATES, params={"before": cursor})
        assert response.status_code in (200, 422), (cursor, response.status_code, response.text)
        if response.status_code == 200:
            assert [u["id"] for u in response.json()["items"]] == [update["id"]]
        else:
            assert_problem_of(response, 422, "invalid-input")


async def test_limit_out_of_range_is_422(client: httpx.AsyncClient, editor: dict[str, str]) -> None:
    await open_story(client, editor)
    for limit in ("0", "101", "-5", "ten", "1.5"):
        response = await client.get(UPDATES, params={"limit": limit})
        assert response.status_code == 422, (limit, response.text)
        assert_validation(response, ("query", "limit"))


# ------------------------------------------------------------------------------------ corrections


async def test_a_correction_with_if_match_changes_the_update_and_adds_a_public_note(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor)
    before = await event_count(database)
    response = await client.post(
        f"{UPDATES}/{update['id']}/corrections", json=correction(), headers={**editor, "If-Match": '"1"'}
    )
    assert response.status_code == 200, response.text
    corrected = response.json()
    assert response.headers["etag"] == '"2"'
    assert corrected["revision"] == 2
    assert corrected["body"] == "Fighters crossed the border at noon."
    assert "noon" in corrected["body_html"]
    assert corrected["revised_at"] is not None
    assert [(n["kind"], n["note"]) for n in corrected["notes"]] == [
        ("correction", "An earlier version gave the wrong time.")
    ]
    assert corrected["published_at"] == update["published_at"]
    assert await event_count(database) == before + 1
    assert (await client.get(f"{UPDATES}/{update['id']}")).json() == corrected


async def test_a_correction_with_a_stale_if_match_is_412_with_current_revision(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor)
    url = f"{UPDATES}/{update['id']}"
    assert (await client.put(f"{url}/flags", json={"pinned": True}, headers=editor)).status_code == 200
    before = await event_count(database)
    response = await client.post(
        f"{url}/corrections", json=correction(), headers={**editor, "If-Match": '"1"'}
    )
    problem = assert_problem_of(response, 412, "revision-mismatch")
    assert problem["current_revision"] == 2
    assert await event_count(database) == before
    assert (await client.get(url)).json()["body"] == update["body"]


async def test_a_correction_with_a_malformed_if_match_is_400(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor)
    before = await event_count(database)
    for header in ("1", "'1'", '"one"', "W/1", '"1",', '"1" "2"'):
        response = await client.post(
            f"{UPDATES}/{update['id']}/corrections", json=correction(), headers={**editor, "If-Match": header}
        )
        assert response.status_code == 400, (header, response.text)
        assert_problem_of(response, 400, "bad-request")
    assert await event_count(database) == before


async def test_a_correction_that_changes_nothing_is_422(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor, sources=[{"name": "Ministry"}])
    before = await event_count(database)
    no_changes: list[dict[str, Any]] = [
        {},
        {"body": update["body"]},
        {"sources": [{"name": "Ministry"}]},
        {"byline": ""},  # there is no byline to remove
        {"media": []},
    ]
    for changes in no_changes:
        response = await client.post(
            f"{UPDATES}/{update['id']}/corrections", json=correction(changes=changes), headers=editor
        )
        assert response.status_code == 422, (changes, response.text)
        assert_problem_of(response, 422, "nothing-to-change")
    assert await event_count(database) == before


async def test_a_non_minor_correction_without_a_note_is_422(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor)
    before = await event_count(database)
    for kind in ("correction", "clarification", "amendment"):
        body = correction(kind=kind)
        del body["note"]
        response = await client.post(f"{UPDATES}/{update['id']}/corrections", json=body, headers=editor)
        assert response.status_code == 422, (kind, response.text)
        assert_problem_of(response, 422, "note-required")
    blank = await client.post(
        f"{UPDATES}/{update['id']}/corrections", json=correction(note="   "), headers=editor
    )
    assert_validation(blank, ("body", "note"))
    assert await event_count(database) == before


async def test_a_minor_edit_needs_no_note_and_shows_none(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor, body="Fighters crosed the border.")
    before = await event_count(database)
    body = correction(body="Fighters crossed the border.", kind="minor")
    del body["note"]
    response = await client.post(f"{UPDATES}/{update['id']}/corrections", json=body, headers=editor)
    assert response.status_code == 200, response.text
    assert response.json()["body"] == "Fighters crossed the border."
    assert response.json()["notes"] == []
    assert await event_count(database) == before + 1


async def test_a_correction_needs_an_internal_reason(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor)
    before = await event_count(database)
    body = correction()
    del body["reason"]
    response = await client.post(f"{UPDATES}/{update['id']}/corrections", json=body, headers=editor)
    assert_validation(response, ("body", "reason"))
    assert await event_count(database) == before


# ------------------------------------------------------------------------------------ retraction


async def test_retraction_then_a_second_retraction_and_any_change_are_409(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor, pinned=True, key_event=True)
    url = f"{UPDATES}/{update['id']}"
    retracted = await client.post(
        f"{url}/retraction",
        json={"reason": "INTERNAL-source-recanted", "note": "This report was wrong."},
        headers={**editor, "If-Match": '"1"'},
    )
    assert retracted.status_code == 200, retracted.text
    document = retracted.json()
    assert document["status"] == "retracted" and document["revision"] == 2
    assert document["retraction"]["note"] == "This report was wrong."
    assert document["retraction"]["at"] is not None
    assert document["pinned"] is False and document["key_event"] is False

    before = await event_count(database)
    again = await client.post(f"{url}/retraction", json={"reason": "again", "note": "again"}, headers=editor)
    assert_problem_of(again, 409, "already-retracted")
    corrected = await client.post(f"{url}/corrections", json=correction(), headers=editor)
    assert_problem_of(corrected, 409, "update-is-retracted")
    flagged = await client.put(f"{url}/flags", json={"pinned": True}, headers=editor)
    assert_problem_of(flagged, 409, "update-is-retracted")
    verified = await client.put(f"{url}/verification", json={"status": "false"}, headers=editor)
    assert_problem_of(verified, 409, "update-is-retracted")
    assert await event_count(database) == before

    story = (await client.get(STORY)).json()
    assert [u["id"] for u in story["updates"]] == [update["id"]]  # still in the record
    assert story["updates"][0]["status"] == "retracted"
    assert story["pinned"] == [] and story["key_events"] == []


async def test_a_retraction_needs_a_reason_and_a_note(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor)
    before = await event_count(database)
    for body, loc in (
        ({"note": "public"}, ("body", "reason")),
        ({"reason": "internal"}, ("body", "note")),
        ({"reason": " ", "note": "public"}, ("body", "reason")),
    ):
        response = await client.post(f"{UPDATES}/{update['id']}/retraction", json=body, headers=editor)
        assert_validation(response, loc)
    assert await event_count(database) == before
    assert (await client.get(f"{UPDATES}/{update['id']}")).json()["status"] == "published"


# ------------------------------------------------------------------------------------ flags, verification


async def test_flags_that_change_nothing_are_200_and_append_nothing(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor)
    url = f"{UPDATES}/{update['id']}/flags"
    before = await event_count(database)
    for body in ({}, {"pinned": False}, {"key_event": False}, {"pinned": False, "key_event": False}):
        response = await client.put(url, json=body, headers=editor)
        assert response.status_code == 200, (body, response.text)
        assert response.json() == update
        assert response.headers["etag"] == '"1"'
    assert await event_count(database) == before

    pinned = await client.put(url, json={"pinned": True}, headers=editor)
    assert pinned.status_code == 200 and pinned.json()["pinned"] is True and pinned.json()["revision"] == 2
    assert await event_count(database) == before + 1
    repeat = await client.put(url, json={"pinned": True}, headers=editor)
    assert repeat.status_code == 200 and repeat.json() == pinned.json()
    assert await event_count(database) == before + 1
    assert [u["id"] for u in (await client.get(STORY)).json()["pinned"]] == [update["id"]]


async def test_verification_that_changes_nothing_is_200_and_appends_nothing(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor)
    url = f"{UPDATES}/{update['id']}/verification"
    before = await event_count(database)
    first = await client.put(url, json={"status": "confirmed", "note": "Two sources"}, headers=editor)
    assert first.status_code == 200, first.text
    assert first.json()["verification"]["status"] == "confirmed"
    assert first.json()["revision"] == 2
    assert await event_count(database) == before + 1
    same = await client.put(url, json={"status": "confirmed", "note": "Two sources"}, headers=editor)
    assert same.status_code == 200 and same.json() == first.json()
    assert same.headers["etag"] == '"2"'
    assert await event_count(database) == before + 1
    note_changed = await client.put(url, json={"status": "confirmed"}, headers=editor)
    assert note_changed.status_code == 200 and note_changed.json()["verification"]["note"] is None
    assert await event_count(database) == before + 2
    bad = await client.put(url, json={"status": "probably"}, headers=editor)
    assert_validation(bad, ("body", "status"))
    assert await event_count(database) == before + 2


# ------------------------------------------------------------------------------------ what readers see


async def test_readers_never_see_internal_reasons(
    client: httpx.AsyncClient, editor: dict[str, str], auditor: dict[str, str]
) -> None:
    await open_story(client, editor)
    corrected = await post_update(client, editor, body="First version")
    retracted = await post_update(client, editor, body="Wrong report")
    minor = await post_update(client, editor, body="Typo hre")
    response = await client.post(
        f"{UPDATES}/{corrected['id']}/corrections",
        json=correction(body="Second version", reason="SECRET-correction-reason"),
        headers=editor,
    )
    assert response.status_code == 200, response.text
    response = await client.post(
        f"{UPDATES}/{minor['id']}/corrections",
        json={
            "changes": {"body": "Typo here"},
            "kind": "minor",
            "reason": "SECRET-minor-reason",
            "note": "Fixed a typo",
        },
        headers=editor,
    )
    assert response.status_code == 200, response.text
    response = await client.post(
        f"{UPDATES}/{retracted['id']}/retraction",
        json={"reason": "SECRET-retraction-reason", "note": "We withdrew this report."},
        headers=editor,
    )
    assert response.status_code == 200, response.text
    response = await client.patch(
        STORY, json={"title": "Raid: latest", "reason": "SECRET-headline-reason"}, headers=editor
    )
    assert response.status_code == 200, response.text

    for headers in ({}, auditor, editor):
        for path in (
            f"{API}/stories",
            STORY,
            UPDATES,
            f"{UPDATES}/{corrected['id']}",
            f"{UPDATES}/{retracted['id']}",
            f"{UPDATES}/{minor['id']}",
        ):
            read = await client.get(path, headers=headers)
            assert read.status_code == 200, (path, read.text)
            assert "SECRET" not in read.text, path
            assert "reason" not in set(all_keys(read.json())), path
            assert "Olena Editor" not in json.dumps(
                [{k: v for k, v in u.items() if k != "author"} for u in read.json().get("items", [])]
            )
    shown = (await client.get(f"{UPDATES}/{retracted['id']}")).json()
    assert shown["retraction"]["note"] == "We withdrew this report."
    assert [n["note"] for n in (await client.get(f"{UPDATES}/{corrected['id']}")).json()["notes"]] == [
        "An earlier version gave the wrong time."
    ]


async def test_body_html_renders_markdown_and_keeps_safe_links(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor)
    update = await post_update(
        client,
        editor,
        body="# Heading\n\n**bold** and *em* and [the statement](https://ministry.example/s?a=1&b=2)\n\n- one\n- two",
    )
    found = elements(update["body_html"])
    tags = [tag for tag, _ in found]
    assert {"h1", "strong", "em", "a", "ul", "li"} <= set(tags)
    links = [attrs for tag, attrs in found if tag == "a"]
    assert links[0]["href"] == "https://ministry.example/s?a=1&b=2"
    assert set((links[0].get("rel") or "").split()) >= {"noopener", "nofollow"}


def test_update_ids_never_look_like_command_line_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """A random id starting with "-" broke `liveblog-client retract SLUG <id>` (one in 64)."""
    monkeypatch.setattr(updates.secrets, "token_urlsafe", lambda _n: "-Ux9fK2bQ_a1")
    update_id = updates.new_update_id()
    assert update_id[0].isalpha() and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", update_id)
