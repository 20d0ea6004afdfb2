"""``liveblog audit report``: the corrections, retractions and redactions of the reference
story, in Markdown and in JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from liveblog.application import Application
from liveblog.audit import report
from liveblog.store.database import Database
from liveblog.store.event_store import RecordedEvent
from tests.audit import SLUG, Demo, play_demo

CORRECTIONS = [(5, "correction"), (14, "clarification"), (19, "minor")]
RETRACTION = 11


@pytest.fixture
async def story(
    database: Database, application: Application, client: httpx.AsyncClient, tmp_path: Path
) -> Demo:
    return await play_demo(database, application, client, tmp_path)


def _update_ids(story: Demo) -> dict[int, str]:
    return {
        line["version"]: line["data"]["update_id"]
        for line in story.lines()[1:]
        if "update_id" in line.get("data", {})
    }


async def test_the_json_report_lists_every_correction_and_retraction(story: Demo) -> None:
    result = await story.cli("audit", "report", SLUG, "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["format"], document["story"], document["version"]) == (report.FORMAT, SLUG, 26)
    assert document["counts"] == {"correction": 3, "retraction": 1, "redaction": 0}
    entries = {entry["version"]: entry for entry in document["entries"]}
    assert sorted(entries) == sorted([v for v, _ in CORRECTIONS] + [RETRACTION])
    ids = _update_ids(story)
    for version, kind in CORRECTIONS:
        entry = entries[version]
        assert (entry["action"], entry["kind"], entry["fields"]) == ("correction", kind, ["body"])
        assert entry["update_id"] == ids[version] and entry["legal_basis"] is None
    deadline = entries[5]
    assert deadline["actor"] == {"id": "demo-desk", "name": "Live desk", "role": "editor"}
    assert deadline["reason"] == "Deadline converted to GMT by mistake; the statement gives local time."
    assert deadline["note"].startswith("An earlier version of this update said the deadline was 5 p.m. GMT.")
    assert deadline["at"] == deadline["recorded_at"] == "2023-06-04T13:34:00Z"
    retraction = entries[RETRACTION]
    assert (retraction["action"], retraction["kind"]) == ("retraction", None)
    assert (retraction["reason"], retraction["note"]) == (
        "Posted twice by mistake.",
        "This update duplicated an earlier one and has been withdrawn.",
    )
    assert entries[19]["note"] is None  # a minor correction tells readers nothing
    assert "1 retraction" in result.stderr and "26/26" in result.stderr  # the progress bar


async def test_the_markdown_report_is_a_table_a_person_can_read(story: Demo, tmp_path: Path) -> None:
    path = tmp_path / "report.md"
    result = await story.cli("audit", "report", SLUG, "-o", str(path))
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert text.startswith("# Retention report: Belgorod governor says he is ready")
    assert "3 corrections, 1 retraction, 0 redactions." in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [int(row.split("|")[1]) for row in rows] == [5, 11, 14, 19]
    deadline = rows[0]
    assert "| correction: body |" in deadline and "Live desk (editor, token demo-desk)" in deadline
    assert "Deadline converted to GMT by mistake" in deadline and "17:00 local time" in deadline
    assert "| retraction |" in rows[1] and "Posted twice by mistake." in rows[1]
    assert "correction (clarification): body" in rows[2]


def test_a_redaction_is_reported_with_its_legal_basis_and_cells_stay_one_line() -> None:
    """``UpdateRedacted`` (docs/audit-format.md) is listed by its type name, with the basis."""
    redaction = RecordedEvent(
        position=40,
        stream=SLUG,
        version=31,
        type="UpdateRedacted",
        schema=1,
        data={
            "update_id": "u7",
            "at": "2026-12-01T10:00:00Z",
            "legal_basis": "court order 2026/123",
            "note": "Removed on a court's order.",
            "reason": "Names a victim | under 18\nper the order",
        },
        metadata={"actor": {"id": "t1", "name": "Sam Admin", "role": "admin"}},
        recorded_at=datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
        hash="0" * 64,
        prev_hash="0" * 64,
    )
    entry = report._entry(redaction)
    assert (entry.action, entry.legal_basis, entry.update_id, entry.version) == (
        "redaction",
        "court order 2026/123",
        "u7",
        31,
    )
    built = report.Report(SLUG, None, 31, "2026-12-01T10:05:00Z", [entry])
    assert json.loads(report.as_json(built))["counts"]["redaction"] == 1
    [row] = [line for line in report.as_markdown(built).splitlines() if line.startswith("| 31 ")]
    assert "court order 2026/123" in row and "Sam Admin (admin, token t1)" in row
    assert "Names a victim \\| under 18 per the order" in row  # a pipe or a newline cannot break the table


async def test_an_unknown_story_is_an_error(story: Demo) -> None:
    result = await story.cli("audit", "report", "no-such-story")
    assert result.exit_code == 1 and "there is no story 'no-such-story'" in result.output
