"""The layering of docs/architecture.md, enforced by reading every module's imports.

The domain is pure: it may import only the standard library's pure modules, pydantic,
itself and the error tree; it reads no clock and makes no ids. Lower layers never import
higher ones.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "liveblog"

DOMAIN_ALLOWED = {
    "__future__",
    "collections",
    "dataclasses",
    "datetime",
    "enum",
    "functools",
    "re",
    "typing",
    "unicodedata",
    "urllib.parse",  # pure string parsing (social embeds); never urllib.request
    "pydantic",
    "liveblog.domain",
    "liveblog.errors",
}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "uuid4", "token_hex"}

FORBIDDEN = {
    "store": {
        "liveblog.api",
        "liveblog.projections",
        "liveblog.application",
        "liveblog.cli",
        "liveblog.demo",
        "fastapi",
        "starlette",
    },
    "projections": {
        "liveblog.api",
        "liveblog.application",
        "liveblog.cli",
        "liveblog.demo",
        "fastapi",
        "starlette",
    },
    "live": {"liveblog.api", "liveblog.cli", "liveblog.demo", "fastapi", "starlette"},
    "webhooks": {"liveblog.api", "liveblog.cli", "liveblog.demo", "fastapi", "starlette"},
    "audit": {"liveblog.api", "liveblog.cli", "liveblog.live", "fastapi", "starlette"},
    "errors.py": {"liveblog", "fastapi", "starlette", "sqlalchemy", "pydantic"},
}


def modules(relative: str) -> list[Path]:
    target = PACKAGE / relative
    return [target] if target.is_file() else sorted(target.rglob("*.py"))


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def within(name: str, prefixes: set[str]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


@pytest.mark.parametrize("path", modules("domain"), ids=lambda p: p.name)
def test_the_domain_imports_nothing_with_io_a_framework_or_a_clock(path: Path) -> None:
    outside = {name for name in imports(path) if not within(name, DOMAIN_ALLOWED)}
    assert not outside, f"{path.name} imports {sorted(outside)}"


@pytest.mark.parametrize("path", modules("domain"), ids=lambda p: p.name)
def test_the_domain_never_reads_a_clock_or_makes_an_id(path: Path) -> None:
    calls = {
        node.func.attr
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not calls & CLOCK_CALLS, f"{path.name} calls {sorted(calls & CLOCK_CALLS)}"


@pytest.mark.parametrize(
    ("layer", "path"),
    [(layer, path) for layer in FORBIDDEN for path in modules(layer)],
    ids=lambda value: value if isinstance(value, str) else value.name,
)
def test_lower_layers_never_import_higher_ones(layer: str, path: Path) -> None:
    wrong = {name for name in imports(path) if within(name, FORBIDDEN[layer])}
    assert not wrong, f"{path.relative_to(PACKAGE)} imports {sorted(wrong)}"


def test_the_checks_see_the_modules() -> None:
    assert len(modules("domain")) >= 6 and modules("store") and modules("projections")
