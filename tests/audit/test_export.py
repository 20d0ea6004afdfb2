"""`liveblog audit export` and `GET /api/v1/stories/{slug}/events`: the same export, byte for
byte, that verifies; the paged JSON log; who may read it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from liveblog.application import Application
from liveblog.store.database import Database
from tests.audit import SLUG, Demo, events_of, play_demo

NDJSON = {"Accept": "application/x-ndjson"}
EXPORTED_AT = re.compile(rb'"exported_at":"[^"]*"')


@pytest.fixture
async def story(
    database: Database, application: Application, client: httpx.AsyncClient, tmp_path: Path
) -> Demo:
    return await play_demo(database, application, client, tmp_path)


async def test_the_export_holds_header_events_and_checkpoints_in_order(story: Demo) -> None:
    lines = story.lines()
    header = lines[0]["export"]
    assert header["format"] == "liveblog-export/2" and header["story"] == SLUG and header["version"] == 26
    assert [line["version"] for line in lines[1:27]] == list(range(1, 27))
    assert header["head_hash"] == lines[26]["hash"]
    versions = [line["checkpoint"]["version"] for line in lines[27:]]
    assert versions == sorted(versions) and versions[-1] == 26
    assert story.export.decode("utf-8").count("\n") == len(lines) and story.export.endswith(b"\n")


async def test_export_to_a_file_is_the_export_to_stdout(story: Demo) -> None:
    path = story.tmp_path / "out" / "demo.ndjson"
    path.parent.mkdir()
    result = await story.cli("audit", "export", SLUG, "-o", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == b"" and f"exported the 26 events of {SLUG} to {path}" in result.stderr
    assert EXPORTED_AT.sub(b"", path.read_bytes()) == EXPORTED_AT.sub(b"", story.export)


async def test_exporting_an_unknown_story_fails_without_writing(story: Demo) -> None:
    path = story.tmp_path / "nothing.ndjson"
    result = await story.cli("audit", "export", "no-such-story", "-o", str(path))
    assert result.exit_code == 1 and "there is no story 'no-such-story'" in result.output
    assert not path.exists()
    unwritable = await story.cli(
        "audit", "export", SLUG, "-o", str(story.tmp_path / "missing-dir" / "x.ndjson")
    )
    assert unwritable.exit_code == 2 and "cannot write" in unwritable.output


async def test_the_api_export_is_the_cli_export_byte_for_byte_and_verifies(
    story: Demo, client: httpx.AsyncClient, auditor: dict[str, str]
) -> None:
    response = await client.get(f"/api/v1/stories/{SLUG}/events", headers={**auditor, **NDJSON})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert EXPORTED_AT.sub(b"", response.content) == EXPORTED_AT.sub(b"", story.export)
    assert len(EXPORTED_AT.findall(response.content)) == 1
    path = story.tmp_path / "api.ndjson"
    path.write_bytes(response.content)
    result = await story.cli("audit", "verify", str(path), "--key", str(story.keys_file))
    assert result.exit_code == 0, result.output


async def test_the_json_log_comes_in_pages_of_the_export_events(
    story: Demo, client: httpx.AsyncClient, auditor: dict[str, str]
) -> None:
    exported = events_of(story.lines())
    items, after, pages = [], "0", 0
    while after is not None:
        response = await client.get(f"/api/v1/stories/{SLUG}/events?limit=10&after={after}", headers=auditor)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        after, pages = page["next"], pages + 1
    assert pages == 3 and items == exported
    first = (await client.get(f"/api/v1/stories/{SLUG}/events?limit=10", headers=auditor)).json()
    assert [e["version"] for e in first["items"]] == list(range(1, 11)) and first["next"] == "10"


async def test_only_auditors_read_the_log(
    story: Demo, client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    for headers in ({}, NDJSON):
        anonymous = await client.get(f"/api/v1/stories/{SLUG}/events", headers=headers)
        assert anonymous.status_code == 401
        as_editor = await client.get(f"/api/v1/stories/{SLUG}/events", headers={**editor, **headers})
        assert as_editor.status_code == 403
        assert "Traceback" not in as_editor.text and json.loads(as_editor.text)["status"] == 403
