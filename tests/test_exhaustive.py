"""mypy names every site a new event or command type must handle.

A copy of the package gets one more update event (``UpdateTitled``) in the ``UpdateEvent``
union and one more command (``TitleUpdate``) in ``Command``, and nothing else; mypy must then
report each ``match`` that ends in ``assert_never`` without a case for it. This is the list
``docs/adding-an-event.md`` promises that mypy produces. (About 15 s of CPU: one cold mypy run.)
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (module, function): where a new update event, or a new command, must be handled.
EVENT_SITES = {
    ("liveblog/domain/events.py", "update_id_of"),
    ("liveblog/domain/decider.py", "_changes"),
    ("liveblog/domain/replay.py", "command_for"),
    ("liveblog/projections/history.py", "revision_rows"),
    ("liveblog/projections/history.py", "_update_kind"),
    ("liveblog/application.py", "_seals"),
}
COMMAND_SITES = {
    ("liveblog/domain/decider.py", "decide"),
    ("liveblog/demo.py", "_responder"),
}
ERROR = re.compile(r"^(?P<path>[\w/]+\.py):(?P<line>\d+): error: (?P<message>.*)$", re.MULTILINE)


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} no longer holds {old!r}"
    path.write_text(text.replace(old, new, 1))


def _function_at(path: Path, line: int) -> str:
    """The innermost function of ``path`` whose body holds ``line``."""
    found = "<module>"
    for node in ast.walk(ast.parse(path.read_text())):
        is_function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        if is_function and node.lineno <= line <= (node.end_lineno or node.lineno):
            found = node.name  # ast.walk is breadth first: inner functions come later
    return found


def test_mypy_lists_every_site_a_new_event_or_command_must_handle(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "liveblog", tmp_path / "liveblog", ignore=shutil.ignore_patterns("__pycache__"))
    events, commands = tmp_path / "liveblog/domain/events.py", tmp_path / "liveblog/domain/commands.py"
    _replace(
        events,
        "StoryEvent: TypeAlias =",
        'class UpdateTitled(BaseUpdateEvent):\n    type: Literal["UpdateTitled"] = "UpdateTitled"\n'
        "    title: Title\n\n\nStoryEvent: TypeAlias =",
    )
    # First in the unions, so that members appended at their end (by other branches) do not matter.
    _replace(events, "UpdateEvent: TypeAlias = (\n", "UpdateEvent: TypeAlias = (\n    UpdateTitled\n    | ")
    _replace(commands, "Command = (", "class TitleUpdate(UpdateCommand):\n    title: Title\n\n\nCommand = (")
    _replace(commands, "\nCommand = (\n", "\nCommand = (\n    TitleUpdate\n    | ")

    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            "-p",
            "liveblog",
        ],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert run.returncode == 1, run.stdout + run.stderr
    errors = [match.groupdict() for match in ERROR.finditer(run.stdout)]
    assert errors, run.stdout + run.stderr
    for error in errors:
        assert 'Argument 1 to "assert_never" has incompatible type' in error["message"], error
    flagged: dict[str, set[tuple[str, str]]] = {"UpdateTitled": set(), "TitleUpdate": set()}
    for error in errors:
        site = (error["path"], _function_at(tmp_path / error["path"], int(error["line"])))
        new_type = re.search(r'incompatible type "(\w+)"', error["message"])
        assert new_type is not None and new_type[1] in flagged, error
        flagged[new_type[1]].add(site)
    assert flagged["UpdateTitled"] >= EVENT_SITES, flagged
    assert flagged["TitleUpdate"] >= COMMAND_SITES, flagged
