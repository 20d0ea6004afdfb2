"""docs/api.md "Contributors and sign-off" (issue 15, part 1): contributors submit, editors
approve or reject; what the log records; who may do what; and that readers never see a
submission on any surface (API, as-of reads, pages, history, feeds, the change feed)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from liveblog_client.audit import verifier as client_verifier

from liveblog.audit.verify import parse_lines, verify, verify_database
from liveblog.projections import rebuild
from liveblog.store import feed
from liveblog.store.database import Database
from liveblog.store.tokens import Role
from tests.api.fixtures_extra import API, assert_problem_of, create_token, stream
from tests.api.helpers import assert_problem, event_count, open_story, post_update
from tests.api.test_redaction import _every_row

SLUG = "border-raid"
STORY = f"{API}/stories/{SLUG}"
QUEUE = f"{STORY}/submissions"
SECRET = "Zorvath-Quelline"
"""A phrase only submissions hold: no reader surface may ever contain it."""


@pytest.fixture
async def contributor(database: Database) -> dict[str, str]:
    return (await create_token(database, Role.CONTRIBUTOR, "Field Reporter"))[1]


@pytest.fixture
async def other_contributor(database: Database) -> dict[str, str]:
    return (await create_token(database, Role.CONTRIBUTOR, "Other Reporter"))[1]


async def submit(
    client: httpx.AsyncClient, headers: dict[str, str], body: str = f"Seen: {SECRET}.", **fields: Any
) -> dict[str, Any]:
    response = await client.post(QUEUE, json={"body": body, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_a_contributor_submits_and_an_editor_approves_with_changes(
    client: httpx.AsyncClient,
    editor: dict[str, str],
    auditor: dict[str, str],
    contributor: dict[str, str],
    database: Database,
) -> None:
    await open_story(client, editor)
    response = await client.post(
        QUEUE,
        json={"body": "Two captives shown on video.", "sources": [{"name": "Legion Telegram"}]},
        headers=contributor,
    )
    assert response.status_code == 201, response.text
    submission = response.json()
    assert response.headers["location"] == f"{QUEUE}/{submission['id']}"
    assert submission["status"] == "pending"
    assert submission["submitted_by"]["name"] == "Field Reporter"
    assert submission["update"]["body"] == "Two captives shown on video."
    assert submission["published_update"] is None

    approved = await client.post(
        f"{QUEUE}/{submission['id']}/approval",
        json={"changes": {"body": "Two captives shown on video; not verified."}},
        headers=editor,
    )
    assert approved.status_code == 201, approved.text
    update = approved.json()
    assert update["id"] == submission["id"]
    assert approved.headers["location"] == f"{STORY}/updates/{update['id']}"
    assert update["body"] == "Two captives shown on video; not verified."
    assert update["author"] == {"name": "Field Reporter"}  # the reporter wrote it
    assert update["sources"] == [{"name": "Legion Telegram", "url": None}]
    # Readers get an update like any other.
    assert (await client.get(f"{STORY}/updates/{update['id']}")).json() == update
    listed = (await client.get(STORY)).json()["updates"]
    assert [u["id"] for u in listed] == [update["id"]]

    now = (await client.get(f"{QUEUE}/{submission['id']}", headers=editor)).json()
    assert now["status"] == "approved"
    assert now["update"]["body"] == "Two captives shown on video."  # what was submitted
    assert now["changes"] == {"body": "Two captives shown on video; not verified."}  # what the editor changed
    assert now["published_update"] == update["id"]

    # The audit log: who submitted, who approved, what the editor changed.
    log = [e for e in await stream(database, SLUG) if e.version > 2]
    assert [e.type for e in log] == ["UpdateSubmitted", "SubmissionApproved", "UpdatePosted"]
    assert log[0].metadata["actor"]["name"] == "Field Reporter"
    assert log[0].metadata["actor"]["role"] == "contributor"
    assert log[0].data["body"] == "Two captives shown on video."
    assert log[1].metadata["actor"]["name"] == "Olena Editor"
    assert log[1].data["changes"] == {"body": "Two captives shown on video; not verified."}
    assert log[1].data["submitted_by"] == log[0].metadata["actor"]["id"]
    assert log[2].data["author"] == "Field Reporter"
    events = (await client.get(f"{STORY}/events", headers=auditor)).json()["items"]
    assert [e["type"] for e in events][-3:] == ["UpdateSubmitted", "SubmissionApproved", "UpdatePosted"]
    assert await rebuild.check(database) == []


async def test_reject_withdraw_and_the_409_once_decided(
    client: httpx.AsyncClient,
    editor: dict[str, str],
    contributor: dict[str, str],
    other_contributor: dict[str, str],
    database: Database,
) -> None:
    await open_story(client, editor)
    first, second = await submit(client, contributor), await submit(client, contributor)
    rejected = await client.post(
        f"{QUEUE}/{first['id']}/rejection", json={"note": "Not confirmed."}, headers=editor
    )
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["note"]) == ("rejected", "Not confirmed.")
    before = await event_count(database)
    for path, body in (("approval", {}), ("rejection", {"note": "again"})):
        assert_problem_of(
            await client.post(f"{QUEUE}/{first['id']}/{path}", json=body, headers=editor),
            409,
            "submission-not-pending",
        )
    assert_problem_of(
        await client.post(f"{QUEUE}/{first['id']}/withdrawal", headers=contributor),
        409,
        "submission-not-pending",
    )
    # Only its submitter withdraws it: another contributor, an editor, are refused.
    assert_problem_of(
        await client.post(f"{QUEUE}/{second['id']}/withdrawal", headers=other_contributor),
        403,
        "not-the-submitter",
    )
    assert_problem_of(
        await client.post(f"{QUEUE}/{second['id']}/withdrawal", headers=editor), 403, "not-the-submitter"
    )
    assert await event_count(database) == before
    withdrawn = await client.post(f"{QUEUE}/{second['id']}/withdrawal", headers=contributor)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
    assert_problem_of(
        await client.post(f"{QUEUE}/{second['id']}/approval", headers=editor), 409, "submission-not-pending"
    )
    assert_problem_of(
        await client.post(f"{QUEUE}/nope/approval", headers=editor), 404, "submission-not-found"
    )
    # A closed story takes no submission and publishes none.
    third = await submit(client, contributor)
    assert (await client.post(f"{STORY}/close", headers=editor)).status_code == 200
    assert_problem_of(
        await client.post(QUEUE, json={"body": "late"}, headers=contributor), 409, "story-is-closed"
    )
    assert_problem_of(
        await client.post(f"{QUEUE}/{third['id']}/approval", headers=editor), 409, "story-is-closed"
    )


async def test_the_queue_lists_a_contributors_own_and_everything_for_editors(
    client: httpx.AsyncClient,
    editor: dict[str, str],
    auditor: dict[str, str],
    contributor: dict[str, str],
    other_contributor: dict[str, str],
) -> None:
    await open_story(client, editor)
    mine = [await submit(client, contributor, f"Mine {n}") for n in range(3)]
    theirs = await submit(client, other_contributor, "Theirs")
    await client.post(f"{QUEUE}/{mine[0]['id']}/rejection", json={"note": "No."}, headers=editor)

    page = (await client.get(QUEUE, params={"limit": 2}, headers=contributor)).json()
    assert [s["id"] for s in page["items"]] == [mine[2]["id"], mine[1]["id"]]
    rest = (await client.get(QUEUE, params={"limit": 2, "before": page["next"]}, headers=contributor)).json()
    assert ([s["id"] for s in rest["items"]], rest["next"]) == ([mine[0]["id"]], None)
    everything = (await client.get(QUEUE, params={"limit": 100}, headers=editor)).json()
    assert [s["id"] for s in everything["items"]] == [theirs["id"], *(s["id"] for s in reversed(mine))]
    pending = (await client.get(QUEUE, params={"status": "pending"}, headers=auditor)).json()
    assert {s["id"] for s in pending["items"]} == {theirs["id"], mine[1]["id"], mine[2]["id"]}
    # Another's submission: 403 to a contributor.
    assert_problem(await client.get(f"{QUEUE}/{theirs['id']}", headers=contributor), 403)
    assert (await client.get(f"{QUEUE}/{theirs['id']}", headers=other_contributor)).status_code == 200
    assert_problem(await client.get(f"{QUEUE}/missing", headers=editor), 404)
    assert_problem(await client.get(QUEUE, params={"before": "!!"}, headers=editor), 422)
    assert_problem(await client.get(QUEUE, params={"status": "lost"}, headers=editor), 422)


async def test_a_contributor_may_do_nothing_else(
    client: httpx.AsyncClient, editor: dict[str, str], contributor: dict[str, str], database: Database
) -> None:
    """Publish, approve, reject, correct, verify, pin, retract, revise the story, read the
    log: 403 and nothing recorded; drafts are as invisible to it as to any reader."""
    await open_story(client, editor)
    update = await post_update(client, editor)
    pending = await submit(client, contributor)
    u = f"{STORY}/updates/{update['id']}"
    before = await event_count(database)
    refused = [
        ("POST", f"{STORY}/updates", {"body": "Straight to readers"}),
        ("POST", f"{QUEUE}/{pending['id']}/approval", {}),
        ("POST", f"{QUEUE}/{pending['id']}/rejection", {"note": "mine anyway"}),
        ("POST", f"{u}/corrections", {"changes": {"body": "x"}, "kind": "minor", "reason": "x"}),
        ("PUT", f"{u}/verification", {"status": "confirmed"}),
        ("PUT", f"{u}/flags", {"pinned": True}),
        ("POST", f"{u}/retraction", {"reason": "x", "note": "x"}),
        ("PATCH", STORY, {"title": "Mine now"}),
        ("POST", f"{STORY}/close", None),
        ("POST", f"{API}/stories", {"title": "My own story"}),
        ("GET", f"{STORY}/events", None),
    ]
    for method, url, body in refused:
        assert_problem(await client.request(method, url, json=body, headers=contributor), 403)
    assert await event_count(database) == before
    # Flags are an editor's: a submission carries none (422, an unknown field).
    assert_problem(await client.post(QUEUE, json={"body": "x", "pinned": True}, headers=contributor), 422)
    assert_problem(await client.post(QUEUE, json={"body": "x", "key_event": True}, headers=contributor), 422)
    # A draft does not exist for a contributor.
    draft = await client.post(
        f"{API}/stories", json={"title": "Draft", "slug": "secret-draft"}, headers=editor
    )
    assert draft.status_code == 201
    before = await event_count(database)
    for method, url in (
        ("GET", f"{API}/stories/secret-draft"),
        ("POST", f"{API}/stories/secret-draft/submissions"),
        ("GET", f"{API}/stories/secret-draft/submissions"),
    ):
        assert_problem(await client.request(method, url, json={"body": "x"}, headers=contributor), 404)
    assert "secret-draft" not in (await client.get(f"{API}/stories", headers=contributor)).text
    assert await event_count(database) == before


async def test_hostile_submissions_are_clear_4xx(
    client: httpx.AsyncClient, editor: dict[str, str], contributor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    pending = await submit(client, contributor)
    before = await event_count(database)
    cases = [
        (QUEUE, {"body": ""}, 422),
        (QUEUE, {"body": "x" * 20_001}, 422),
        (QUEUE, {"body": "x", "sources": [{"name": "a", "url": "javascript:alert(1)"}]}, 422),
        (QUEUE, {"body": "x", "occurred_at": "yesterday"}, 422),
        (QUEUE, [1, 2], 422),
        (f"{QUEUE}/{pending['id']}/rejection", {}, 422),
        (f"{QUEUE}/{pending['id']}/rejection", {"note": ""}, 422),
        (f"{QUEUE}/{pending['id']}/approval", {"changes": {"pinned": True}}, 422),
        (f"{QUEUE}/{pending['id']}/approval", {"changes": {"body": ""}}, 422),
        (f"{QUEUE}/{pending['id']}/approval", {"edits": {}}, 422),
        (f"{QUEUE}/bad%20id/approval", {}, 422),
        (f"{API}/stories/no-such-story/submissions", {"body": "x"}, 404),
    ]
    for url, body, status in cases:
        headers = contributor if url == QUEUE or "no-such" in url else editor
        response = await client.post(url, json=body, headers=headers)
        assert_problem(response, status)
    broken = await client.post(
        QUEUE, content=b"{not json", headers={**contributor, "Content-Type": "application/json"}
    )
    assert broken.status_code in (400, 422)
    assert await event_count(database) == before


async def test_approval_is_idempotent_with_a_key(
    client: httpx.AsyncClient, editor: dict[str, str], contributor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    pending = await submit(client, contributor)
    key = {**editor, "Idempotency-Key": "approve-1"}
    first = await client.post(f"{QUEUE}/{pending['id']}/approval", json={}, headers=key)
    again = await client.post(f"{QUEUE}/{pending['id']}/approval", json={}, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert [e.type for e in await stream(database, SLUG)].count("UpdatePosted") == 1
    # Without the key (or with another editor's), the second approval is a conflict.
    assert_problem_of(
        await client.post(f"{QUEUE}/{pending['id']}/approval", headers=editor), 409, "submission-not-pending"
    )


async def test_two_editors_approving_at_once_one_wins(
    client: httpx.AsyncClient, editor: dict[str, str], contributor: dict[str, str], database: Database
) -> None:
    """Decided from the story's state under its write lock: exactly one approval lands (on
    SQLite and PostgreSQL), the others get 409, and one update is published."""
    await open_story(client, editor)
    pending = [await submit(client, contributor, f"Report {n}") for n in range(3)]
    crowd = [(await create_token(database, Role.EDITOR, f"Editor {n}"))[1] for n in range(4)]
    for submission in pending:
        responses = await asyncio.gather(
            *(
                client.post(
                    f"{QUEUE}/{submission['id']}/approval",
                    json={"changes": {"body": f"By editor {n}"}},
                    headers=h,
                )
                for n, h in enumerate(crowd)
            )
        )
        assert sorted(r.status_code for r in responses) == [201, 409, 409, 409], [r.text for r in responses]
        winner = next(r.json() for r in responses if r.status_code == 201)
        assert (await client.get(f"{STORY}/updates/{submission['id']}")).json() == winner
    log = await stream(database, SLUG)
    assert [e.type for e in log].count("SubmissionApproved") == 3
    assert [e.type for e in log].count("UpdatePosted") == 3
    assert [e.version for e in log] == list(range(1, len(log) + 1))


async def test_readers_never_see_a_submission(
    client: httpx.AsyncClient,
    editor: dict[str, str],
    contributor: dict[str, str],
    auditor: dict[str, str],
    database: Database,
) -> None:
    """On every reader surface: the Story, its updates, as-of reads at the submission's
    version, the pages, the history, the feeds and the consumer's change feed."""
    await open_story(client, editor)
    await post_update(client, editor)  # 3
    pending = await submit(client, contributor)  # 4
    rejected = await submit(client, contributor)  # 5
    await client.post(
        f"{QUEUE}/{rejected['id']}/rejection", json={"note": f"No {SECRET}"}, headers=editor
    )  # 6
    consumer = (await create_token(database, Role.CONSUMER, "Indexer"))[1]
    surfaces = [
        (STORY, None),
        (f"{STORY}/updates", None),
        (f"{STORY}/updates/{pending['id']}", None),
        (STORY, {"at_version": 4}),
        (STORY, {"at_version": 6}),
        (f"{STORY}/revisions", None),
        (f"/stories/{SLUG}", None),
        (f"/stories/{SLUG}/history", None),
        (f"/stories/{SLUG}/embed", None),
        (f"/stories/{SLUG}/fragment", None),
        (f"/stories/{SLUG}/feed.atom", None),
        (f"/stories/{SLUG}/feed.json", None),
        ("/feed.atom", None),
        (f"{QUEUE}", None),
        (f"{QUEUE}/{pending['id']}", None),
    ]
    for headers in ({}, consumer):
        for url, params in surfaces:
            response = await client.get(url, params=params, headers=headers)
            assert SECRET not in response.text, url
            assert pending["id"] not in response.text or response.status_code == 404, url
    for url in (QUEUE, f"{QUEUE}/{pending['id']}"):
        assert_problem(await client.get(url), 401)
        assert_problem(await client.get(url, headers=consumer), 403)
    # The story did not change for readers: its updated_at is the update's.
    header = (await client.get(STORY)).json()
    assert header["updated_at"] == (await client.get(STORY, params={"at_version": 3})).json()["updated_at"]
    # The change feed: consumers get none of the queue's events, auditors all of them.
    # On PostgreSQL the feed reads below the transaction horizon, which any writing
    # transaction on the cluster holds back for a moment: wait for it to pass.
    for _ in range(600):
        async with database.read() as connection:
            seen, _ = await feed.read_page(connection, None, 100, published_only=True)
            everything, _ = await feed.read_page(connection, None, 100)
        if {e.type for e in everything} >= {"UpdateSubmitted", "SubmissionRejected"}:
            break
        await asyncio.sleep(0.1)
    assert not any(e.type in feed.INTERNAL_TYPES for e in seen)
    assert {e.type for e in everything} >= {"UpdateSubmitted", "SubmissionRejected"}
    served = await client.get(f"{API}/events", params={"limit": 100}, headers=consumer)
    assert served.status_code == 200
    assert SECRET not in served.text and "UpdateSubmitted" not in served.text
    audited = await client.get(f"{API}/events", params={"limit": 100}, headers=auditor)
    assert SECRET in audited.text


async def test_redacting_a_published_submission_removes_the_submitted_text(
    client: httpx.AsyncClient,
    editor: dict[str, str],
    admin: dict[str, str],
    auditor: dict[str, str],
    contributor: dict[str, str],
    database: Database,
) -> None:
    await open_story(client, editor)
    key = {**contributor, "Idempotency-Key": "submit-1"}
    response = await client.post(QUEUE, json={"body": f"Named: {SECRET}", "byline": SECRET}, headers=key)
    assert response.status_code == 201
    pending = response.json()
    approved = await client.post(
        f"{QUEUE}/{pending['id']}/approval",
        json={"changes": {"body": f"Edited, still {SECRET}"}},
        headers=editor,
    )
    assert approved.status_code == 201
    redacted = await client.post(
        f"{STORY}/updates/{pending['id']}/redaction",
        json={"legal_basis": "court order 1/2026", "note": "Removed.", "reason": "order"},
        headers=admin,
    )
    assert redacted.status_code == 200, redacted.text
    submission = (await client.get(f"{QUEUE}/{pending['id']}", headers=editor)).json()
    assert submission["redacted"] is True
    assert SECRET not in str(submission)
    for event in await stream(database, SLUG):
        assert SECRET not in str(event.data), event.type
    assert SECRET not in await _every_row(database)
    # Both verifiers accept the redacted log, the queue's events among the redacted ones.
    export = await client.get(f"{STORY}/events", headers={**auditor, "Accept": "application/x-ndjson"})
    assert export.status_code == 200
    result = verify(parse_lines(export.content.splitlines()))
    assert result.ok, result.message
    assert len(result.redactions) == 3  # the submission, its approval, its post
    independent = client_verifier.verify(export.content.splitlines())
    assert independent.ok, independent.summary()
    assert independent.redactions == result.redactions
    assert (await verify_database(database, SLUG)).ok
    # The contributor's retry of its submit gets the stored response, without the text.
    again = await client.post(QUEUE, json={"body": f"Named: {SECRET}", "byline": SECRET}, headers=key)
    assert again.status_code == 201
    assert SECRET not in again.text
    assert await rebuild.check(database) == []
