"""The files the package carries besides its code, read through :mod:`importlib.resources`.

An installed ``liveblog`` needs nothing outside itself: the page templates
(``liveblog/api/templates``, loaded by Jinja2's ``PackageLoader``), the static files the pages
link to (``liveblog/static``) and the Alembic history (``liveblog/migrations``) are package
data (``[tool.setuptools.package-data]`` in ``pyproject.toml``), whatever the folder the
server is started in. ``tests/test_wheel.py`` installs the built wheel into a fresh
environment and serves from an empty folder to prove it.
"""

from __future__ import annotations

import atexit
from contextlib import ExitStack
from importlib.resources import as_file, files
from pathlib import Path

STATIC = "static"
MIGRATIONS = "migrations"

# Folders extracted to a temporary place (only when the package is imported from an archive,
# where they have no path of their own) stay there until the process ends: the static file
# server and Alembic read them by path for as long as the process runs.
_extracted = ExitStack()
atexit.register(_extracted.close)
_folders: dict[str, Path] = {}


def folder(name: str) -> Path:
    """The file-system path of the package-data folder ``liveblog/<name>``.

    From an ordinary install (a wheel unpacked into site-packages, or an editable checkout)
    this is the folder itself; from a zip archive (Python 3.12 and later can extract a
    folder) it is a copy that lasts as long as the process. Raises :class:`FileNotFoundError` if the package does not carry the folder.
    """
    if name not in _folders:
        resource = files("liveblog") / name
        if not resource.is_dir():
            raise FileNotFoundError(f"the liveblog package carries no {name!r} folder ({resource})")
        _folders[name] = _extracted.enter_context(as_file(resource))
    return _folders[name]
