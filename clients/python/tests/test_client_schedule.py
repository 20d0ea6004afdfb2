"""Scheduled posts and update headlines from the client (docs/api.md "Scheduled posts"):
the methods, and ``liveblog-client schedule`` (create with --at, list, move, cancel,
publish-now, publication) and ``post --title`` as a person runs them."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from lbc_support import Server, run_client

from liveblog_client import Client, bodies
from liveblog_client.errors import LiveblogClientError
from liveblog_client.models import Story, Update


def later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def test_the_schedule_commands(lb_server: Server, lb_slug: str) -> None:
    editor = lb_server.token("editor")

    def client(*args: str) -> str:
        run = run_client(*args, server=lb_server, token=editor)
        assert run.returncode == 0, run.stderr
        return run.stdout.strip()

    client("open", "Scheduled posts", "--slug", lb_slug, "--publish")
    first = client(
        "schedule", "create", lb_slug, "The governor replies.", "--at", later(hours=1), "--title", "Reply"
    )
    second = client("schedule", "create", lb_slug, "Never sent.", "--at", later(hours=2))
    listed = client("schedule", "list", lb_slug)
    assert [line.split("\t")[0] for line in listed.splitlines()] == [first, second]
    assert "\tReply" in listed.splitlines()[0]
    assert "rescheduled" in client("schedule", "move", lb_slug, second, "--at", later(hours=3))
    assert client("schedule", "cancel", lb_slug, second) == f"{second} cancelled"
    assert client("schedule", "publish-now", lb_slug, first) == f"{first} published"
    items = json.loads(client("--json", "schedule", "list", lb_slug))
    assert {item["id"]: item["status"] for item in items} == {first: "published", second: "cancelled"}

    again = run_client("schedule", "cancel", lb_slug, second, server=lb_server, token=editor)
    assert again.returncode != 0 and "cancelled" in again.stderr
    past = run_client(
        "schedule",
        "create",
        lb_slug,
        "Too late.",
        "--at",
        "2020-01-01T00:00:00Z",
        server=lb_server,
        token=editor,
    )
    assert past.returncode != 0 and "past" in past.stderr
    naive = run_client(
        "schedule", "create", lb_slug, "x", "--at", "2030-01-01T00:00:00", server=lb_server, token=editor
    )
    assert naive.returncode != 0 and "offset" in naive.stderr

    titled = client("post", lb_slug, "With a headline.", "--title", "Headline")
    with Client(lb_server.url, editor) as api:
        assert api.update(lb_slug, titled).title == "Headline"
        assert api.update(lb_slug, first).title == "Reply"
    client("correct", lb_slug, titled, "--title", "", "--kind", "minor", "--reason", "no headline")
    with Client(lb_server.url, editor) as api:
        assert api.update(lb_slug, titled).title is None


def test_the_client_methods_and_the_server_publishing_on_time(lb_server: Server, lb_slug: str) -> None:
    editor = lb_server.token("editor")
    with Client(lb_server.url, editor) as api:
        api.open_story(bodies.NewStory(title="Draft to schedule", slug=lb_slug))
        item = api.schedule_publication(lb_slug, bodies.ScheduledPublication(publish_at=later(hours=1)))
        assert item.kind == "publication" and item.status == "scheduled"
        story = api.publish_scheduled(lb_slug, item.id)
        assert isinstance(story, Story) and story.status.value == "live"
        # Due in 6 s (beyond the server's 5 s skew): the server's scheduler publishes it.
        due = api.schedule_update(
            lb_slug, bodies.ScheduledUpdate(body="On time.", title="Due", publish_at=later(seconds=6))
        )
        moved = api.reschedule(lb_slug, due.id, bodies.ScheduleChange(publish_at=later(seconds=7)))
        assert moved.publish_at > due.publish_at
        deadline = time.monotonic() + 120
        while api.scheduled_item(lb_slug, due.id).status != "published":
            assert time.monotonic() < deadline, "the scheduler never published it"
            time.sleep(0.5)
        published = api.update(lb_slug, due.id)
        assert isinstance(published, Update) and published.title == "Due"
        assert published.published_at >= moved.publish_at
        page = api.scheduled(lb_slug, status="published")
        assert {i.id for i in page.items} == {item.id, due.id}
        try:
            api.cancel_scheduled(lb_slug, due.id)
        except LiveblogClientError as exc:
            assert "published" in str(exc)
        else:
            raise AssertionError("cancelling a published item must fail")
