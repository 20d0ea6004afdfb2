"""docs/api.md "Stories": open, list, read (ETag, drafts), revise (If-Match), the lifecycle."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from liveblog.store.database import Database
from tests.api.fixtures_extra import API, all_keys, assert_problem_of, assert_validation, stream
from tests.api.helpers import event_count, open_story, post_update

HEADER_KEYS = {
    "slug",
    "title",
    "summary",
    "status",
    "language",
    "revision",
    "version",
    "opened_at",
    "published_at",
    "updated_at",
    "closed_at",
}
STORY_KEYS = HEADER_KEYS | {"pinned", "key_events", "updates", "next"}
SLUG_RE = re.compile(r"^[a-z0-9-]{1,80}$")
BAD_SLUGS = [
    "Border-Raid",  # uppercase
    "BORDER-RAID",
    "a" * 81,  # too long
    "border raid",  # space
    " border-raid",
    "border_raid",
    "border-raid\n",  # a trailing newline that Python's `$` would let through
    "bórder-raid",
    "",
    "../etc",
]
# An empty segment or a slash makes a different route (404), so the path tests leave those out.
BAD_PATH_SLUGS = [slug for slug in BAD_SLUGS if slug and "/" not in slug]


def assert_rfc3339(value: Any) -> None:
    assert isinstance(value, str)
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", value), value
    assert datetime.fromisoformat(value).tzinfo is not None


# ------------------------------------------------------------------------------------ open


async def test_open_returns_201_with_location_etag_and_the_story(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    before = await event_count(database)
    response = await client.post(
        f"{API}/stories",
        json={
            "title": "Raid across the border",
            "slug": "border-raid",
            "summary": "What we know",
            "publish": True,
        },
        headers=editor,
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["location"] == "/api/v1/stories/border-raid"
    story = response.json()
    assert set(story) == STORY_KEYS
    assert story["slug"] == "border-raid"
    assert story["title"] == "Raid across the border"
    assert story["summary"] == "What we know"
    assert story["status"] == "live"
    assert story["language"] == "en"
    assert story["version"] == 2 and story["revision"] == 2
    assert response.headers["etag"] == '"2"'
    for field in ("opened_at", "published_at", "updated_at"):
        assert_rfc3339(story[field])
    assert story["closed_at"] is None
    assert story["updates"] == [] and story["pinned"] == [] and story["key_events"] == []
    assert story["next"] is None
    assert await event_count(database) == before + 2
    assert [e.type for e in await stream(database, "border-raid")] == ["StoryOpened", "StoryPublished"]
    fetched = await client.get(response.headers["location"])
    assert fetched.status_code == 200
    assert fetched.json() == story


async def test_a_story_is_a_draft_unless_published(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    before = await event_count(database)
    response = await client.post(
        f"{API}/stories", json={"title": "Quiet draft", "slug": "quiet"}, headers=editor
    )
    assert response.status_code == 201, response.text
    story = response.json()
    assert story["status"] == "draft"
    assert story["published_at"] is None
    assert story["version"] == 1 and story["revision"] == 1
    assert await event_count(database) == before + 1


async def test_slug_is_derived_from_the_title(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    for title, slug in (
        ("Raid across the border!", "raid-across-the-border"),
        ("  Élection à Paris : 2e tour  ", "election-a-paris-2e-tour"),
        ("Storm -- 'Ida' hits   NEW ORLEANS", "storm-ida-hits-new-orleans"),
    ):
        response = await client.post(f"{API}/stories", json={"title": title}, headers=editor)
        assert response.status_code == 201, response.text
        assert response.json()["slug"] == slug
        assert response.headers["location"] == f"/api/v1/stories/{slug}"
        assert (await client.get(f"{API}/stories/{slug}", headers=editor)).status_code == 200
        assert [e.type for e in await stream(database, slug)] == ["StoryOpened"]


async def test_a_derived_slug_is_at_most_80_characters_and_never_ends_in_a_hyphen(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    title = "word " * 60  # "word-word-..." cut at 80 would end on a hyphen at position 80
    response = await client.post(f"{API}/stories", json={"title": title.strip()}, headers=editor)
    assert response.status_code == 201, response.text
    slug = response.json()["slug"]
    assert SLUG_RE.match(slug) and len(slug) <= 80
    assert not slug.endswith("-") and not slug.startswith("-")
    assert slug.startswith("word-word-")


async def test_a_title_with_no_slug_characters_needs_an_explicit_slug(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    before = await event_count(database)
    response = await client.post(f"{API}/stories", json={"title": "地震速报"}, headers=editor)
    assert_problem_of(response, 422, "invalid-input")
    assert await event_count(database) == before
    ok = await client.post(f"{API}/stories", json={"title": "地震速报", "slug": "quake"}, headers=editor)
    assert ok.status_code == 201, ok.text
    assert ok.json()["title"] == "地震速报"


async def test_a_taken_slug_is_409(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor, slug="border-raid")
    before = await event_count(database)
    explicit = await client.post(
        f"{API}/stories", json={"title": "Another", "slug": "border-raid"}, headers=editor
    )
    assert_problem_of(explicit, 409, "story-already-exists")
    derived = await client.post(f"{API}/stories", json={"title": "Border raid"}, headers=editor)
    assert_problem_of(derived, 409, "story-already-exists")
    assert await event_count(database) == before
    # The first story is untouched.
    story = (await client.get(f"{API}/stories/border-raid")).json()
    assert story["title"] == "Raid across the border"
    assert story["version"] == 2


async def test_a_bad_slug_is_refused_on_open(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    before = await event_count(database)
    for slug in BAD_SLUGS:
        response = await client.post(
            f"{API}/stories", json={"title": "Anything", "slug": slug}, headers=editor
        )
        assert response.status_code == 422, (slug, response.text)
        assert_validation(response, ("body", "slug"))
    assert await event_count(database) == before
    listed = (await client.get(f"{API}/stories", headers=editor)).json()["items"]
    assert listed == []


PATH_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "", None),
    ("GET", "/updates", None),
    ("GET", "/updates/abc", None),
    ("PATCH", "", {"title": "New"}),
    ("POST", "/publish", None),
    ("POST", "/close", None),
    ("POST", "/reopen", None),
    ("POST", "/updates", {"body": "text"}),
    ("PUT", "/updates/abc/flags", {"pinned": True}),
    ("PUT", "/updates/abc/verification", {"status": "confirmed"}),
    ("POST", "/updates/abc/retraction", {"reason": "r", "note": "n"}),
    ("POST", "/updates/abc/corrections", {"changes": {"body": "b"}, "kind": "minor", "reason": "r"}),
]


async def test_a_bad_slug_in_the_path_is_422_on_every_route(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor, slug="border-raid")
    before = await event_count(database)
    for slug in BAD_PATH_SLUGS:
        for method, suffix, body in PATH_ROUTES:
            url = f"{API}/stories/{quote(slug, safe='')}{suffix}"
            response = await client.request(method, url, json=body, headers=editor)
            assert response.status_code == 422, (slug, method, suffix, response.text)
            assert_validation(response, ("path", "slug"))
    assert await event_count(database) == before


async def test_an_unknown_story_is_404_on_every_route(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor, slug="exists")
    before = await event_count(database)
    for method, suffix, body in PATH_ROUTES:
        response = await client.request(
            method, f"{API}/stories/no-such-story{suffix}", json=body, headers=editor
        )
        assert response.status_code == 404, (method, suffix, response.text)
        assert_problem_of(response, 404, "story-not-found")
    anonymous = await client.get(f"{API}/stories/no-such-story")
    assert_problem_of(anonymous, 404, "story-not-found")
    assert await event_count(database) == before
    assert await stream(database, "no-such-story") == []


# ------------------------------------------------------------------------------------ read


async def test_get_story_etag_and_if_none_match(client: httpx.AsyncClient, editor: dict[str, str]) -> None:
    await open_story(client, editor)
    first = await client.get(f"{API}/stories/border-raid")
    assert first.status_code == 200
    tag = first.headers["etag"]
    assert tag == '"2"' == f'"{first.json()["version"]}"'

    for header in (tag, f"W/{tag}", f'"77", {tag}', "*"):
        cached = await client.get(f"{API}/stories/border-raid", headers={"If-None-Match": header})
        assert cached.status_code == 304, header
        assert cached.content == b""
        assert cached.headers["etag"] == tag

    stale = await client.get(f"{API}/stories/border-raid", headers={"If-None-Match": '"1"'})
    assert stale.status_code == 200 and stale.json() == first.json()

    await post_update(client, editor)
    changed = await client.get(f"{API}/stories/border-raid", headers={"If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.headers["etag"] == '"3"'
    assert len(changed.json()["updates"]) == 1


async def test_list_stories_newest_first_with_headers_only(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor, slug="first")
    await open_story(client, editor, slug="second")
    await open_story(client, editor, slug="third")
    response = await client.get(f"{API}/stories")
    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["slug"] for item in items] == ["third", "second", "first"]
    for item in items:
        assert set(item) == HEADER_KEYS


async def test_list_stories_a_page_at_a_time_without_gaps_or_drafts(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    for slug in ("one", "two", "three", "four", "five"):
        await open_story(client, editor, slug=slug)
    await open_story(client, editor, slug="hidden", publish=False)

    async def walk(headers: dict[str, str]) -> list[str]:
        slugs: list[str] = []
        params: dict[str, str] = {"limit": "2"}
        while True:
            page = await client.get(f"{API}/stories", params=params, headers=headers)
            assert page.status_code == 200, page.text
            assert len(page.json()["items"]) <= 2
            slugs += [item["slug"] for item in page.json()["items"]]
            if page.json()["next"] is None:
                return slugs
            params["before"] = page.json()["next"]

    everything = (await client.get(f"{API}/stories", headers=editor)).json()
    assert everything["next"] is None
    assert await walk(editor) == [item["slug"] for item in everything["items"]]
    assert await walk({}) == ["five", "four", "three", "two", "one"]


async def test_list_stories_refuses_a_foreign_cursor_and_limits_out_of_range(
    client: httpx.AsyncClient,
) -> None:
    for params in ({"before": "u12"}, {"before": "s99999999999999999999.x"}, {"before": "s1.UPPER"}):
        assert_problem_of(await client.get(f"{API}/stories", params=params), 422, "invalid-input")
    for limit in ("0", "101", "many"):
        assert_validation(await client.get(f"{API}/stories", params={"limit": limit}))


async def test_story_as_it_stood_at_a_version_and_a_time(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    """docs/api.md: `GET /stories/{slug}?at_version=N` or `?as_of=<time>` is the story exactly as it stood."""
    opened = await open_story(client, editor, title="Original headline")
    await post_update(client, editor)
    patched = await client.patch(f"{API}/stories/border-raid", json={"title": "New headline"}, headers=editor)
    assert patched.status_code == 200, patched.text

    at_two = await client.get(f"{API}/stories/border-raid", params={"at_version": 2})
    assert at_two.status_code == 200, at_two.text
    assert at_two.json()["version"] == 2
    assert at_two.json()["title"] == "Original headline"
    assert at_two.json()["updates"] == []

    as_of = await client.get(f"{API}/stories/border-raid", params={"as_of": opened["published_at"]})
    assert as_of.status_code == 200, as_of.text
    assert as_of.json()["title"] == "Original headline"
    assert as_of.json()["updates"] == []


# ------------------------------------------------------------------------------------ drafts


async def test_drafts_are_invisible_to_readers_but_not_to_staff(
    client: httpx.AsyncClient,
    editor: dict[str, str],
    auditor: dict[str, str],
    admin: dict[str, str],
) -> None:
    await open_story(client, editor, slug="public-story")
    draft = await client.post(
        f"{API}/stories", json={"title": "Secret draft", "slug": "secret"}, headers=editor
    )
    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    update = await post_update(client, editor, slug="secret", body="Embargoed until noon")

    for who, headers in (("anonymous", {}),):
        for path in (
            f"{API}/stories/secret",
            f"{API}/stories/secret/updates",
            f"{API}/stories/secret/updates/{update['id']}",
        ):
            response = await client.get(path, headers=headers)
            problem = assert_problem_of(response, 404, "story-not-found")
            assert "Embargoed" not in response.text, (who, path)
            # Indistinguishable from a story that does not exist.
            missing = (await client.get(path.replace("/secret", "/never-existed"), headers=headers)).json()
            assert problem["title"] == missing["title"]
        listed = (await client.get(f"{API}/stories", headers=headers)).json()["items"]
        assert [item["slug"] for item in listed] == ["public-story"], who
        conditional = await client.get(f"{API}/stories/secret", headers={**headers, "If-None-Match": "*"})
        assert conditional.status_code == 404, who

    for headers in (editor, auditor, admin):  # auditors read every story, drafts included
        story = await client.get(f"{API}/stories/secret", headers=headers)
        assert story.status_code == 200 and story.json()["status"] == "draft"
        assert [u["id"] for u in story.json()["updates"]] == [update["id"]]
        updates = await client.get(f"{API}/stories/secret/updates", headers=headers)
        assert [u["id"] for u in updates.json()["items"]] == [update["id"]]
        one = await client.get(f"{API}/stories/secret/updates/{update['id']}", headers=headers)
        assert one.status_code == 200 and one.json()["body"] == "Embargoed until noon"
        listed = (await client.get(f"{API}/stories", headers=headers)).json()["items"]
        assert {item["slug"] for item in listed} == {"public-story", "secret"}

    published = await client.post(f"{API}/stories/secret/publish", headers=editor)
    assert published.status_code == 200
    assert (await client.get(f"{API}/stories/secret")).status_code == 200
    assert (await client.get(f"{API}/stories/secret/updates/{update['id']}")).status_code == 200


# ------------------------------------------------------------------------------------ revise


async def test_patch_with_a_matching_if_match_revises_the_header(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    await post_update(client, editor)  # updates do not move the header's revision
    before = await event_count(database)
    response = await client.patch(
        f"{API}/stories/border-raid",
        json={"title": "Raid across the northern border", "summary": "New details", "reason": "more precise"},
        headers={**editor, "If-Match": '"2"'},
    )
    assert response.status_code == 200, response.text
    story = response.json()
    assert story["title"] == "Raid across the northern border"
    assert story["summary"] == "New details"
    assert story["revision"] == 3 and story["version"] == 4
    assert "reason" not in set(all_keys(story))
    assert await event_count(database) == before + 1
    assert (await stream(database, "border-raid"))[-1].type == "StoryRevised"


async def test_patch_with_a_stale_if_match_is_412_with_current_revision(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    first = await client.patch(
        f"{API}/stories/border-raid", json={"title": "First edit"}, headers={**editor, "If-Match": '"2"'}
    )
    assert first.status_code == 200, first.text
    before = await event_count(database)
    stale = await client.patch(
        f"{API}/stories/border-raid", json={"title": "Second edit"}, headers={**editor, "If-Match": '"2"'}
    )
    problem = assert_problem_of(stale, 412, "revision-mismatch")
    assert problem["current_revision"] == 3
    assert await event_count(database) == before
    assert (await client.get(f"{API}/stories/border-raid")).json()["title"] == "First edit"
    retried = await client.patch(
        f"{API}/stories/border-raid",
        json={"title": "Second edit"},
        headers={**editor, "If-Match": f'"{problem["current_revision"]}"'},
    )
    assert retried.status_code == 200 and retried.json()["title"] == "Second edit"


async def test_patch_without_if_match_is_not_blocked_by_other_writes(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor)
    await client.patch(f"{API}/stories/border-raid", json={"summary": "one"}, headers=editor)
    await post_update(client, editor)
    response = await client.patch(f"{API}/stories/border-raid", json={"summary": "two"}, headers=editor)
    assert response.status_code == 200, response.text
    assert response.json()["summary"] == "two"


async def test_patch_with_a_malformed_if_match_is_400(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    before = await event_count(database)
    for header in ("2", '"two"', "W/", '"2', '"2" junk', '"1234567890123"', '""', '"-1"'):
        response = await client.patch(
            f"{API}/stories/border-raid", json={"title": "Edited"}, headers={**editor, "If-Match": header}
        )
        assert response.status_code == 400, (header, response.text)
        assert_problem_of(response, 400, "bad-request")
    assert await event_count(database) == before
    assert (await client.get(f"{API}/stories/border-raid")).json()["title"] == "Raid across the border"


async def test_a_patch_that_changes_nothing_is_422(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    before = await event_count(database)
    for body in (
        {},
        {"title": "Raid across the border"},
        {"summary": ""},
        {"title": "  Raid across the border  "},
    ):
        response = await client.patch(f"{API}/stories/border-raid", json=body, headers=editor)
        assert response.status_code == 422, (body, response.text)
        assert_problem_of(response, 422, "nothing-to-change")
    assert await event_count(database) == before


# ------------------------------------------------------------------------------------ lifecycle


async def test_the_whole_lifecycle_and_the_409s_for_wrong_transitions(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    base = f"{API}/stories/life"
    opened = await client.post(f"{API}/stories", json={"title": "Life", "slug": "life"}, headers=editor)
    assert opened.status_code == 201 and opened.json()["status"] == "draft"

    async def refused(action: str) -> None:
        before = await event_count(database)
        response = await client.post(f"{base}/{action}", headers=editor)
        assert_problem_of(response, 409, "invalid-transition")
        assert await event_count(database) == before

    async def done(action: str, status: str, version: int, revision: int) -> dict[str, Any]:
        before = await event_count(database)
        response = await client.post(f"{base}/{action}", headers=editor)
        assert response.status_code == 200, response.text
        story = response.json()
        assert (story["status"], story["version"], story["revision"]) == (status, version, revision)
        assert response.headers["etag"] == f'"{version}"'
        assert await event_count(database) == before + 1
        assert (await client.get(base, headers=editor)).json() == story
        return dict(story)

    await refused("close")
    await refused("reopen")
    live = await done("publish", "live", 2, 2)
    assert_rfc3339(live["published_at"])
    assert live["closed_at"] is None
    await refused("publish")
    await refused("reopen")
    closed = await done("close", "closed", 3, 3)
    assert_rfc3339(closed["closed_at"])
    assert closed["published_at"] == live["published_at"]
    await refused("close")
    await refused("publish")
    reopened = await done("reopen", "live", 4, 4)
    assert reopened["closed_at"] is None
    assert reopened["published_at"] == live["published_at"]
    await refused("reopen")
    await refused("publish")
    again = await done("close", "closed", 5, 5)
    assert again["status"] == "closed"

    events = await stream(database, "life")
    assert [e.version for e in events] == [1, 2, 3, 4, 5]
    assert [e.type for e in events] == [
        "StoryOpened",
        "StoryPublished",
        "StoryClosed",
        "StoryReopened",
        "StoryClosed",
    ]
