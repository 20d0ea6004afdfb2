"""Revision histories, story revisions, checkpoints and keys through the API."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
import pytest

from liveblog.api.pages import kind_label
from liveblog.audit.signing import verify_signature
from tests.api.helpers import assert_problem, open_story, post_update

BASE = "/api/v1/stories/border-raid"


async def test_an_update_history_has_every_revision_with_diffs_and_changes(
    client: httpx.AsyncClient, editor: dict[str, str], auditor: dict[str, str]
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor, body="Two people were hurt on Sunday.", byline="Desk")
    path = f"{BASE}/updates/{update['id']}"
    await client.post(
        f"{path}/corrections",
        json={
            "changes": {"body": "Two people were killed on Sunday."},
            "kind": "correction",
            "reason": "hospital confirmed deaths",
            "note": "We first said two people were hurt.",
        },
        headers=editor,
    )
    await client.post(
        f"{path}/corrections",
        json={
            "changes": {"body": "Two people were killed earlier on Sunday.", "byline": ""},
            "kind": "minor",
            "reason": "wording",
            "note": "tidied",
        },
        headers=editor,
    )
    await client.put(f"{path}/verification", json={"status": "confirmed", "note": "Hospital"}, headers=editor)
    await client.put(f"{path}/flags", json={"pinned": True}, headers=editor)
    await client.post(
        f"{path}/retraction", json={"reason": "wrong story", "note": "Withdrawn."}, headers=editor
    )

    audited = (await client.get(f"{path}/history", headers=auditor)).json()["items"]
    assert [r["kind"] for r in audited] == [
        "posted",
        "correction",
        "minor",
        "verification",
        "flags",
        "retraction",
    ]
    assert [r["revision"] for r in audited] == [1, 2, 3, 4, 5, 6]
    assert [r["version"] for r in audited] == [3, 4, 5, 6, 7, 8]
    correction, minor = audited[1], audited[2]
    assert correction["diff"]["body"] == [
        {"op": "equal", "text": "Two people were "},
        {"op": "delete", "text": "hurt"},
        {"op": "insert", "text": "killed"},
        {"op": "equal", "text": " on Sunday."},
    ]
    assert (
        correction["reason"] == "hospital confirmed deaths" and correction["actor"]["name"] == "Olena Editor"
    )
    assert minor["changes"]["byline"] == {"from": "Desk", "to": None}
    assert audited[3]["changes"]["verification"]["to"] == {"status": "confirmed", "note": "Hospital"}
    assert audited[4]["changes"] == {"pinned": {"from": False, "to": True}}
    assert audited[5]["changes"]["status"] == {"from": "published", "to": "retracted"}
    assert audited[5]["note"] == "Withdrawn." and audited[5]["body"] == audited[2]["body"]

    public = (await client.get(f"{path}/history")).json()["items"]
    assert all("actor" not in r and "reason" not in r for r in public)
    assert public[1]["note"] == "We first said two people were hurt."
    assert public[2]["kind"] == "minor" and public[2]["note"] is None  # in the history, not announced
    page = (await client.get(path)).json()
    assert [n["kind"] for n in page["notes"]] == ["correction"]


async def test_story_revisions_record_headline_summary_and_status(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor, publish=False, summary="First summary")
    await client.post(f"{BASE}/publish", headers=editor)
    await client.patch(
        BASE, json={"title": "Raid across the border repelled", "reason": "news"}, headers=editor
    )
    await client.post(f"{BASE}/close", headers=editor)
    staff = (await client.get(f"{BASE}/revisions", headers=editor)).json()["items"]
    assert [r["kind"] for r in staff] == ["opened", "published", "revised", "closed"]
    assert staff[2]["reason"] == "news"
    items = (await client.get(f"{BASE}/revisions")).json()["items"]
    assert [r["kind"] for r in items] == ["published", "revised", "closed"]  # the draft stays in the newsroom
    assert items[0]["changes"] == {"status": {"from": "draft", "to": "live"}}
    assert items[1]["changes"]["title"] == {
        "from": "Raid across the border",
        "to": "Raid across the border repelled",
    }
    assert items[1]["diff"]["title"][-1] == {"op": "insert", "text": " repelled"}
    assert "reason" not in items[1]


async def test_checkpoints_are_signed_on_publish_and_close_with_a_listed_key(
    client: httpx.AsyncClient, editor: dict[str, str], auditor: dict[str, str]
) -> None:
    await open_story(client, editor, publish=False)
    assert (await client.get(f"{BASE}/checkpoint", headers=editor)).status_code == 404
    await client.post(f"{BASE}/publish", headers=editor)
    published = (await client.get(f"{BASE}/checkpoint")).json()
    assert published["version"] == 2
    await post_update(client, editor)
    await client.post(f"{BASE}/close", headers=editor)
    closed = (await client.get(f"{BASE}/checkpoint")).json()
    assert closed["version"] == 4 and closed["algorithm"] == "Ed25519"
    keys = (await client.get("/api/v1/keys")).json()["items"]
    key = next(k for k in keys if k["id"] == closed["key_id"])
    assert verify_signature(base64.b64decode(key["public_key"]), closed)
    assert not verify_signature(base64.b64decode(key["public_key"]), {**closed, "version": 3})
    events = (await client.get(f"{BASE}/events", headers=auditor)).json()["items"]
    assert events[-1]["hash"] == closed["head_hash"] and events[1]["hash"] == published["head_hash"]


async def test_editors_get_reasons_and_names_but_token_ids_are_for_auditors(
    client: httpx.AsyncClient, editor: dict[str, str], auditor: dict[str, str], admin: dict[str, str]
) -> None:
    """Issue "Hardening" item 8: API.md reserves actor identities and internal reasons for
    auditors. Editors keep the reasons (and who acted, by name and role), not token ids."""
    await open_story(client, editor)
    update = await post_update(client, editor)
    await client.patch(BASE, json={"title": "Raid repelled", "reason": "REASON-HEAD"}, headers=editor)
    await client.post(
        f"{BASE}/updates/{update['id']}/corrections",
        json={"changes": {"body": "Fixed."}, "kind": "correction", "reason": "REASON-FIX", "note": "N."},
        headers=editor,
    )
    for path in (f"{BASE}/revisions", f"{BASE}/updates/{update['id']}/history"):
        staff = (await client.get(path, headers=editor)).json()["items"]
        assert {r["reason"] for r in staff} & {"REASON-HEAD", "REASON-FIX"}, path
        assert all(r["actor"] == {"name": "Olena Editor", "role": "editor"} for r in staff), staff
        for headers in (auditor, admin):
            audited = (await client.get(path, headers=headers)).json()["items"]
            assert all(r["actor"]["id"] and r["actor"]["name"] == "Olena Editor" for r in audited)
            assert [r["reason"] for r in audited] == [r["reason"] for r in staff]


async def _chain(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], **params: object
) -> list[list[dict[str, object]]]:
    """Every page of ``path``, following ``next`` (as ``after``) to the end."""
    pages: list[list[dict[str, object]]] = []
    cursor = None
    while True:
        query = {**params, **({"after": cursor} if cursor else {})}
        response = await client.get(path, params=query, headers=headers)
        assert response.status_code == 200, response.text
        document = response.json()
        pages.append(document["items"])
        cursor = document["next"]
        if cursor is None:
            return pages
        assert len(pages) < 500


async def test_histories_of_many_changes_come_a_page_at_a_time_and_chain_to_the_whole(
    client: httpx.AsyncClient, editor: dict[str, str], auditor: dict[str, str]
) -> None:
    """Issue "Hardening" item 4: histories are paginated ({items, next}, oldest first)."""
    await open_story(client, editor, publish=False)
    update = await post_update(client, editor)  # posted in the draft: readers never see rev 1
    path = f"{BASE}/updates/{update['id']}"
    for n in range(2):
        await client.put(f"{path}/flags", json={"pinned": n % 2 == 0}, headers=editor)
    await client.post(f"{BASE}/publish", headers=editor)
    for n in range(120):
        await client.put(f"{path}/flags", json={"pinned": n % 2 == 0}, headers=editor)
    for n in range(60):
        await client.patch(BASE, json={"summary": f"Summary {n}"}, headers=editor)

    for target, total, public in ((f"{path}/history", 123, 120), (f"{BASE}/revisions", 62, 61)):
        audited = (await client.get(target, headers=auditor)).json()
        assert len(audited["items"]) == 50 and audited["next"]  # the default page
        for headers, expected in ((auditor, total), (editor, total), ({}, public)):
            for limit in (None, 1, 7, 50, 200):
                pages = await _chain(client, target, headers, **({"limit": limit} if limit else {}))
                items = [item for page in pages for item in page]
                revisions = [item["revision"] for item in items]
                assert revisions == sorted(revisions) and len(set(revisions)) == expected, (target, limit)
                assert revisions[-1] == total and revisions[0] == total - expected + 1
                size = limit or 50
                assert all(len(page) == size for page in pages[:-1]) and 0 < len(pages[-1]) <= size
        assert len((await client.get(target, params={"limit": 200}, headers=auditor)).json()["items"]) == min(
            total, 200
        )


async def test_history_limits_and_cursors_are_checked(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor)
    for target in (f"{BASE}/updates/{update['id']}/history", f"{BASE}/revisions"):
        for params in (
            {"limit": 0},
            {"limit": 201},
            {"limit": "many"},
            {"after": "3"},
            {"after": "u3"},
            {"after": "r"},
            {"after": "r-1"},
            {"after": "r1234567890"},
            {"after": "r٣"},
            {"after": "x" * 40},
        ):
            assert_problem(await client.get(target, params=params), 422)
        assert_problem(await client.get(f"{BASE}/updates/u-nothing/history"), 404)
        assert_problem(await client.get("/api/v1/stories/nothing/revisions", params={"after": "r1"}), 404)
        beyond = (await client.get(target, params={"after": "r999"})).json()
        assert beyond == {"items": [], "next": None}


async def test_complete_history_pages_are_cacheable_for_good_and_the_last_one_revalidates(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor)
    for n in range(3):
        await client.patch(BASE, json={"summary": f"Summary {n}"}, headers=editor)
    target = f"{BASE}/revisions"
    complete = await client.get(target, params={"limit": 2})
    assert complete.json()["next"]
    # Bounded, not immutable: a redaction may rewrite it (liveblog/api/caching.py).
    assert complete.headers["cache-control"] == "public, max-age=60, s-maxage=3600, must-revalidate"
    assert "immutable" not in complete.headers["cache-control"]
    assert complete.headers["surrogate-key"] == "liveblog-story-" + BASE.rsplit("/", 1)[-1]
    tag = complete.headers["etag"]
    assert tag.startswith('"') and not tag.startswith("W/")
    again = await client.get(target, params={"limit": 2}, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.headers["etag"] == tag and not again.content
    last = await client.get(target, params={"after": complete.json()["next"], "limit": 2})
    assert last.json()["next"] is None and last.headers["cache-control"] == "public, no-cache"
    await client.patch(BASE, json={"summary": "Later"}, headers=editor)
    grown = await client.get(
        target,
        params={"after": complete.json()["next"], "limit": 2},
        headers={"If-None-Match": last.headers["etag"]},
    )
    assert grown.status_code == 200 and grown.headers["etag"] != last.headers["etag"]
    staff = await client.get(target, params={"limit": 2}, headers=editor)
    assert staff.headers["cache-control"].startswith("private") and staff.headers["etag"] != tag
    assert "authorization" in staff.headers["vary"].lower()


async def test_the_history_page_shows_a_page_of_changes_with_older_and_newer_links(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    """The history page of a story of 131 changes: 50 at a time, newest first; "Older
    changes" links chain to the first change exactly once, "Newer changes" back again; the
    picker is a number input bounded by the first and the last change; the story as it stood
    lists its updates a page at a time."""
    await open_story(client, editor, publish=False)
    for n in range(45):
        await post_update(client, editor, body=f"Update number {n}.")
    await client.post(f"{BASE}/publish", headers=editor)  # version 47
    for n in range(85):
        await client.patch(BASE, json={"summary": f"Summary {n}"}, headers=editor)  # to version 132
    page = await client.get("/stories/border-raid/history")
    assert page.status_code == 200
    assert "86 changes" in page.text  # readers: from publication (version 47) on
    seen: list[int] = []
    url: str | None = "/stories/border-raid/history"
    pages = 0
    while url is not None:
        html = (await client.get(url)).text
        versions = [
            int(v) for v in re.findall(r'<li class="change[^"]*" id="change-\d+" data-version="(\d+)"', html)
        ]
        assert versions == sorted(versions, reverse=True) and 0 < len(versions) <= 50
        seen += versions
        found = re.search(r'id="older-changes" rel="next" href="([^"]+)"', html)
        url = found.group(1).replace("&amp;", "&") if found else None
        pages += 1
    assert seen == list(range(132, 46, -1)) and pages == 2
    oldest = (await client.get("/stories/border-raid/history", params={"before": "c97"})).text
    assert "older-changes" not in oldest and 'id="newer-changes"' in oldest
    newer = re.search(r'id="newer-changes" rel="prev" href="([^"]+)"', oldest)
    assert newer is not None
    back = (await client.get(newer.group(1).replace("&amp;", "&"))).text
    assert re.findall(r'data-version="(\d+)"', back)[0] == "132" and "newer-changes" not in back

    picker = re.search(r'<input id="version" name="version" type="number"[^>]*>', page.text)
    assert picker is not None
    assert 'min="47"' in picker.group(0) and 'max="132"' in picker.group(0)
    assert "<option" not in page.text

    as_of = (await client.get("/stories/border-raid/history", params={"version": 60})).text
    assert "version 60" in as_of
    shown = re.findall(r'<article class="update[^"]*" id="update-([^"]+)"', as_of)
    assert len(shown) == 20  # a page of updates, then a link to the older ones
    older = re.search(r'id="as-of-older" href="([^"]+)"', as_of)
    assert older is not None
    every = list(shown)
    while older is not None:
        html = (await client.get(older.group(1).replace("&amp;", "&"))).text
        assert "version 60" in html
        every += re.findall(r'<article class="update[^"]*" id="update-([^"]+)"', html)
        older = re.search(r'id="as-of-older" href="([^"]+)"', html)
    assert len(every) == len(set(every)) == 45


async def test_the_history_page_refuses_cursors_it_did_not_issue(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor)
    for params in (
        {"before": "97"},
        {"after": "u3"},
        {"before": "c"},
        {"before": "c1", "after": "c2"},
        {"before": "c" + "9" * 12},
        {"version": 2, "updates": "c3"},
        {"updates": "nonsense"},
        {"version": 0},
    ):
        assert_problem(await client.get("/stories/border-raid/history", params=params), 422)


@pytest.mark.parametrize(
    ("change", "label"),
    [
        ({"kind": "posted"}, "Posted"),
        ({"kind": "minor"}, "Minor edit"),
        ({"kind": "retraction"}, "Retracted"),
        ({"kind": "closed"}, "Coverage ended"),
        (
            {"kind": "verification", "changes": {"verification": {"from": None, "to": {"status": "false"}}}},
            "Claim status: false",
        ),
        (
            {
                "kind": "verification",
                "changes": {"verification": {"from": {"status": "denied"}, "to": {"status": "denied"}}},
            },
            "Claim note changed (denied)",
        ),
        (
            {"kind": "verification", "changes": {"verification": {"from": {"status": "denied"}, "to": None}}},
            "Claim status removed",
        ),
        ({"kind": "verification", "changes": {}}, "Claim status changed"),  # a redacted update's
        (
            {
                "kind": "flags",
                "changes": {"pinned": {"from": False, "to": True}, "key_event": {"from": True, "to": False}},
            },
            "Pinned, No longer a key event",
        ),
        ({"kind": "flags"}, "Flags changed"),
    ],
)
def test_each_change_is_labelled_with_its_kind(change: dict[str, Any], label: str) -> None:
    assert kind_label(change) == label
