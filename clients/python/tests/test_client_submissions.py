"""Issue 15 part 1 from the client: a field reporter submits from the shell (``submit``), the
desk lists the queue (``queue``), approves with an edit (``approve``) or rejects
(``reject``); a second approval fails with a message and an exit status; and the story's
export, with every kind of queue event, verifies with both verifiers, which also agree in
refusing an insider's forged approval."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lbc_support import Server, run_client
from test_client_verify import client_verdict, events, rechain, server_verdict, write

from liveblog_client import Client, Conflict, Forbidden, bodies
from liveblog_client.models import SubmissionStatus

Line = dict[str, Any]


def ok(*args: str, server: Server, token: str) -> str:
    done = run_client(*args, server=server, token=token)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def test_submit_queue_approve_reject_and_verify(lb_server: Server, lb_slug: str, tmp_path: Path) -> None:
    editor, auditor = lb_server.token("editor"), lb_server.token("auditor")
    reporter = lb_server.token("contributor")
    ok("open", "Border raid", "--slug", lb_slug, "--publish", server=lb_server, token=editor)

    first = ok(
        "submit",
        lb_slug,
        "Two captives shown on video.",
        "--source",
        "Legion Telegram",
        server=lb_server,
        token=reporter,
    )
    second = ok("submit", lb_slug, "Shelling reported near the checkpoint.", server=lb_server, token=reporter)
    third = ok("submit", lb_slug, "A rumour.", server=lb_server, token=reporter)
    listed = ok("queue", lb_slug, server=lb_server, token=editor).splitlines()
    assert [line.split("\t")[0] for line in listed] == [third, second, first]
    assert all("\tpending\tClient contributor\t" in line for line in listed)

    published = ok(
        "approve",
        lb_slug,
        first,
        "--body",
        "Two captives shown on video; not verified.",
        server=lb_server,
        token=editor,
    )
    assert published == first
    assert (
        ok("reject", lb_slug, second, "--note", "Not confirmed.", server=lb_server, token=editor)
        == f"{second} rejected"
    )
    assert ok("withdraw", lb_slug, third, server=lb_server, token=reporter) == f"{third} withdrawn"
    again = run_client("approve", lb_slug, first, server=lb_server, token=editor)
    assert again.returncode != 0 and "Traceback" not in again.stderr
    assert "already" in again.stderr
    # A contributor cannot approve, nor post.
    refused = run_client("approve", lb_slug, second, server=lb_server, token=reporter)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr

    with Client(lb_server.url, editor) as desk, Client(lb_server.url, reporter) as field:
        update = desk.update(lb_slug, first)
        assert (update.body, update.author.name) == (
            "Two captives shown on video; not verified.",
            "Client contributor",
        )
        approved = field.submission(lb_slug, first)
        assert approved.status is SubmissionStatus.APPROVED
        assert approved.changes == {"body": "Two captives shown on video; not verified."}
        assert {s.status for s in desk.submissions(lb_slug).items} == {
            SubmissionStatus.APPROVED,
            SubmissionStatus.REJECTED,
            SubmissionStatus.WITHDRAWN,
        }
        try:
            desk.approve(lb_slug, first, bodies.Approval())
            raise AssertionError("a second approval must be refused")
        except Conflict:
            pass
        try:
            field.approve(lb_slug, second)
            raise AssertionError("a contributor must not approve")
        except Forbidden:
            pass
    ok("close", lb_slug, server=lb_server, token=editor)  # signs the head: a verifiable tail

    export, keys = tmp_path / "export.ndjson", tmp_path / "keys.json"
    ok("export", lb_slug, "-o", str(export), server=lb_server, token=auditor)
    ok("keys", "-o", str(keys), server=lb_server, token=auditor)
    lines = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()]
    kinds = [line["type"] for line in events(lines)]
    assert {"UpdateSubmitted", "SubmissionApproved", "SubmissionRejected", "SubmissionWithdrawn"} <= set(
        kinds
    )
    args = ["--key", str(keys)]
    for verdict in (client_verdict(export, args), server_verdict(export, args)):
        assert verdict[0] == 0, verdict[1]

    # An insider's forgery: the approved post no longer what was submitted plus the edit.
    signer = _signer(lb_server)
    forged = [dict(line) for line in lines]
    post = next(e for e in events(forged) if e["type"] == "UpdatePosted" and e["data"]["update_id"] == first)
    post["data"] = {**post["data"], "body": "Something the editor never approved."}
    path = write(tmp_path, "forged approval", rechain(forged, signer))
    verdicts = [client_verdict(path, args), server_verdict(path, args)]
    for status, says in verdicts:
        assert status == 1, says
        assert f"version {post['version']}:" in says, says


def _signer(server: Server) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return load_pem_private_key(server.signing_key.read_bytes(), password=None)
