"""``liveblog webhooks``: add, list, pause, resume, rotate, delete, and a signed test delivery."""

from __future__ import annotations

import asyncio
import json

from click.testing import CliRunner, Result

from liveblog.cli import main
from tests.webhooks.receiver import Receiver


def run(url: str, *args: str, allow_private: bool = True) -> Result:
    env = {
        "LIVEBLOG_DATABASE_URL": url,
        "LIVEBLOG_WEBHOOK_ALLOW_PRIVATE": "true" if allow_private else "false",
    }
    return CliRunner().invoke(main, ["webhooks", *args], env=env, catch_exceptions=False)


async def test_the_webhooks_commands(database_url: str, receiver: Receiver) -> None:
    # The CLI runs its own event loop: in a thread, so the receiver in this loop answers.
    added = await asyncio.to_thread(run, database_url, "add", receiver.url, "--type", "UpdatePosted")
    assert added.exit_code == 0, added.output
    hook = json.loads(added.stdout)
    assert hook["secret"].startswith("whsec_") and hook["types"] == ["UpdatePosted"]

    listed = await asyncio.to_thread(run, database_url, "list")
    assert hook["id"] in listed.stdout and hook["secret"] not in listed.stdout

    tested = await asyncio.to_thread(run, database_url, "test", hook["id"])
    assert tested.exit_code == 0, tested.output
    assert tested.stdout.startswith("delivered: HTTP 200 (127.0.0.1)")
    payload = receiver.requests[0].verified(hook["secret"])
    assert payload["type"] == "WebhookTest" and payload["story"] is None
    assert receiver.requests[0].id.startswith("msg_test_")

    paused = await asyncio.to_thread(run, database_url, "pause", hook["id"], "--reason", "night")
    assert paused.exit_code == 0 and "paused" in paused.output
    assert "night" in (await asyncio.to_thread(run, database_url, "list")).stdout
    resumed = await asyncio.to_thread(run, database_url, "resume", hook["id"])
    assert resumed.exit_code == 0 and "active" in resumed.output

    rotated = await asyncio.to_thread(run, database_url, "rotate", hook["id"])
    secret = rotated.stdout.strip()
    assert rotated.exit_code == 0 and secret.startswith("whsec_") and secret != hook["secret"]
    assert (await asyncio.to_thread(run, database_url, "test", hook["id"])).exit_code == 0
    assert receiver.requests[1].verified(secret)["type"] == "WebhookTest"

    refused = await asyncio.to_thread(run, database_url, "test", hook["id"], allow_private=False)
    assert refused.exit_code == 1 and "loopback" in refused.stdout and "refused" in refused.stdout
    assert len(receiver.requests) == 2

    receiver.fail_always = True
    failing = await asyncio.to_thread(run, database_url, "test", hook["id"])
    assert failing.exit_code == 1 and "HTTP 500" in failing.stdout

    deleted = await asyncio.to_thread(run, database_url, "delete", hook["id"])
    assert deleted.exit_code == 0
    for command in ("delete", "test", "pause", "resume", "rotate"):
        gone = await asyncio.to_thread(run, database_url, command, hook["id"])
        assert gone.exit_code == 1 and "no webhook" in gone.output


def test_bad_registrations_are_refused(database_url: str) -> None:
    for args, why in (
        (["add", "ftp://example.org/"], "https:// or http://"),
        (["add", "http://10.0.0.1/"], "private"),
        (["add", "https://example.org/", "--type", "Nope"], "unknown event types"),
        (["add", "https://u:p@example.org/"], "credentials"),
    ):
        result = run(database_url, *args, allow_private=False)
        assert result.exit_code == 2 and why in result.output, result.output
    assert "wh_" not in run(database_url, "list").stdout
