"""The built wheels are self-contained: installed into fresh environments, they run from an
empty folder with nothing of the repository in reach.

Each wheel is built from a copy of its sources (so no ``build/`` folder is left in, or
reused from, the checkout) and installed with ``--no-deps`` into a virtual environment of
its own. The dependencies come from this test run's environment through a ``.pth`` line
naming its site-packages: the checkout's editable installs are hooks that such a line does
not run, so the only liveblog code either environment can import is its wheel's (asserted).
The server environment then migrates, plays the demo and serves from an empty folder with
the default configuration; the client environment, which has no server package at all, reads
the demo story from that server.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
CLIENT = REPO / "clients" / "python"
DEMO_SLUG = "belgorod-captive-soldiers"
PACKAGE_DATA = ("liveblog/api/templates", "liveblog/static", "liveblog/migrations")
TIMEOUT = 300  # a build may wait for pip to fetch setuptools into its isolated build env
START_TIMEOUT = 60.0
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist", ".*")


def _run(*command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any liveblog setting or Python path of its own, so
    a command run with it sees only the defaults and the environment it is started from."""
    kept = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("LIVEBLOG_") and key not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    }
    return {**kept, "COLUMNS": "1000", "NO_COLOR": "1", **extra}


def _has_build_backend() -> bool:
    """Whether this environment has the build backend both projects require (``[build-system]``
    in their pyproject.toml), so that pip may build without an isolated environment."""
    try:
        return int(version("setuptools").split(".")[0]) >= 77 and bool(version("wheel"))
    except (PackageNotFoundError, ValueError):
        return False


def _build_wheel(name: str, root: Path, sources: list[str], into: Path) -> Path:
    """Build the wheel of distribution ``name`` from a copy of ``sources`` (relative to ``root``)."""
    copy = into / f"src-{name}"
    for source in sources:
        if (root / source).is_dir():
            shutil.copytree(root / source, copy / source, ignore=IGNORED)
        else:
            copy.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / source, copy / source)
    # Without the backend here, pip fetches it into an isolated build environment (slower).
    isolation = ["--no-build-isolation"] if _has_build_backend() else []
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        *isolation,
        "-q",
        "-w",
        into,
        copy,
        env=_clean_env(),
    )
    (wheel,) = into.glob(f"{name.replace('-', '_')}-*.whl")
    return wheel


@dataclass(frozen=True)
class Venv:
    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def site_packages(self) -> Path:
        return Path(
            _run(self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
        )


def _venv_with(wheel: Path, root: Path) -> Venv:
    """A fresh virtual environment holding ``wheel`` (and no pip: this run's pip installs into
    it), whose dependencies resolve to this run's site-packages."""
    _run(sys.executable, "-m", "venv", "--without-pip", root)
    venv = Venv(root)
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (venv.site_packages() / "test-dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n")
    _run(
        sys.executable, "-m", "pip", "--python", venv.python, "install", "-q", "--no-deps", wheel,
        env=_clean_env(),
    )  # fmt: skip
    return venv


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    into = tmp_path_factory.mktemp("wheels")
    return {
        "server": _build_wheel("liveblog", REPO, ["pyproject.toml", "README.md", "liveblog"], into),
        "client": _build_wheel("liveblog-client", CLIENT, ["pyproject.toml", "README.md", "src"], into),
    }


@pytest.fixture(scope="module")
def server_venv(wheels: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Venv:
    return _venv_with(wheels["server"], tmp_path_factory.mktemp("server-venv"))


@pytest.fixture(scope="module")
def client_venv(wheels: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Venv:
    return _venv_with(wheels["client"], tmp_path_factory.mktemp("client-venv"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Served:
    url: str
    folder: Path
    demo_output: str


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the server and anything it started (its own process group)."""
    if process.poll() is not None:
        return
    for sent in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sent)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def served(server_venv: Venv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``liveblog migrate``, ``liveblog demo`` and ``liveblog serve`` from the wheel, run in an
    empty folder with the default configuration (SQLite file and signing key in that folder)."""
    folder = tmp_path_factory.mktemp("empty-folder")
    assert list(folder.iterdir()) == []
    env = _clean_env()
    liveblog = server_venv.bin / "liveblog"
    _run(liveblog, "migrate", cwd=folder, env=env)
    demo_output = _run(liveblog, "demo", cwd=folder, env=env)
    port = _free_port()
    log = folder.parent / f"{folder.name}-server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(liveblog), "serve", "--port", str(port)],
            cwd=folder,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group of its own, ended whole in the finally
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise AssertionError(f"the server exited {process.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/api/v1/keys", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield Served(url=url, folder=folder, demo_output=demo_output)
    finally:
        _stop(process)


def _package_data_in_tree() -> set[str]:
    return {
        path.relative_to(REPO).as_posix()
        for folder in PACKAGE_DATA
        for path in (REPO / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def test_the_wheel_holds_the_templates_the_static_files_and_the_migrations(wheels: dict[str, Path]) -> None:
    names = set(zipfile.ZipFile(wheels["server"]).namelist())
    expected = _package_data_in_tree()
    assert {
        "liveblog/api/templates/live.html",
        "liveblog/static/live.js",
        "liveblog/static/liveblog.css",
        "liveblog/migrations/env.py",
        "liveblog/migrations/script.py.mako",
        "liveblog/migrations/versions/0001_initial.py",
    } <= expected
    assert expected - names == set()


def test_the_environments_import_only_the_wheels(server_venv: Venv, client_venv: Venv) -> None:
    where = (
        "import importlib.util as u; print(json.dumps([getattr(u.find_spec(n), 'origin', None) for n in N]))"
    )
    names = "N = ['liveblog', 'liveblog_client']"
    server, client = (
        json.loads(_run(venv.python, "-c", f"import json; {names}; {where}", cwd=venv.root, env=_clean_env()))
        for venv in (server_venv, client_venv)
    )
    assert Path(server[0]).is_relative_to(server_venv.root)
    assert server[1] is None
    assert client[0] is None  # the client needs no server package
    assert Path(client[1]).is_relative_to(client_venv.root)


def test_the_server_wheel_migrates_plays_the_demo_and_serves_from_an_empty_folder(served: Served) -> None:
    assert f"/stories/{DEMO_SLUG}" in served.demo_output
    with httpx.Client(base_url=served.url, timeout=10) as http:
        page = http.get(f"/stories/{DEMO_SLUG}")
        assert page.status_code == 200, page.text
        assert "text/html" in page.headers["content-type"]
        assets = set(re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text))
        assert {"/static/live.js", "/static/liveblog.css"} <= assets
        for asset in assets:
            response = http.get(asset)
            assert response.status_code == 200, asset
            assert response.content
        assert http.get("/static/live.js").text == (REPO / "liveblog/static/live.js").read_text()
        keys = http.get("/api/v1/keys")
        assert keys.status_code == 200 and keys.json()
    # What the server made, it made where it was started.
    assert {"liveblog.db", "liveblog-signing.key"} <= {path.name for path in served.folder.iterdir()}


def test_the_client_wheel_runs_alone_and_reads_the_demo_story(client_venv: Venv, served: Served) -> None:
    client = client_venv.bin / "liveblog-client"
    env = _clean_env(LIVEBLOG_CLIENT_CONFIG=os.devnull, LIVEBLOG_URL=served.url)
    assert "Usage: liveblog-client" in _run(client, "--help", cwd=client_venv.root, env=env)
    version = httpx.get(f"{served.url}/api/v1/stories/{DEMO_SLUG}", timeout=10).json()["version"]
    shown = _run(client, "follow", DEMO_SLUG, "--until-version", str(version), cwd=client_venv.root, env=env)
    title = httpx.get(f"{served.url}/api/v1/stories/{DEMO_SLUG}", timeout=10).json()["title"]
    assert title in shown
