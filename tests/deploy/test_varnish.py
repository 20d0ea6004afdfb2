"""deploy/varnish/liveblog.vcl in front of a real ``liveblog serve``, in a real Varnish.

One Varnish (Debian's ``varnishd``, non-daemon, its own port and working directory) and one
liveblog server (SQLite) per module, the server purging that Varnish
(``LIVEBLOG_PURGE_URLS``). The shared ``s-maxage`` is set long here (10 minutes), so every
fresh answer below comes from a purge, never from an expiry. Nothing is timed: a purge is
waited for until Varnish has counted it (``MAIN.bans_added``), and then the very first
answer through Varnish must be fresh. Origin hits are Varnish's own count of backend
requests (``MAIN.backend_req``).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.live.processes import free_port
from tests.process_guard import spawn
from tests.process_guard import stop as stop_process

REPO = Path(__file__).resolve().parents[2]
VCL = REPO / "deploy" / "varnish" / "liveblog.vcl"
DEADLINE = 60.0  # seconds to wait for a purge or a server: generous, the machine is shared
VARNISHD = shutil.which("varnishd") or "/usr/sbin/varnishd"
VARNISHSTAT = shutil.which("varnishstat") or "/usr/bin/varnishstat"


def render_vcl(host: str, port: int) -> str:
    """The repository's VCL with its backend placeholders filled in."""
    return VCL.read_text().replace("__LIVEBLOG_HOST__", host).replace("__LIVEBLOG_PORT__", str(port))


@dataclass
class Stack:
    varnish: str
    origin: str
    workdir: Path
    environment: dict[str, str]
    editor: dict[str, str]
    admin: dict[str, str]
    consumer: dict[str, str]
    logs: tuple[Path, Path]

    def log_tails(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in self.logs)

    def counter(self, name: str) -> int:
        """A Varnish counter (``MAIN.backend_req``...), read with varnishstat."""
        done = subprocess.run(
            [VARNISHSTAT, "-n", str(self.workdir), "-1", "-f", name],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        for line in done.stdout.splitlines():
            fields = line.split()
            if fields and fields[0] == name:
                return int(fields[1])
        raise AssertionError(f"varnishstat has no {name}: {done.stdout!r} {done.stderr!r}")

    async def purged_since(self, bans: int) -> None:
        """Wait until Varnish has taken a purge after the count ``bans``."""
        deadline = time.monotonic() + DEADLINE
        while self.counter("MAIN.bans_added") <= bans:
            assert time.monotonic() < deadline, f"no purge reached Varnish\n{self.log_tails()}"
            await asyncio.sleep(0.05)


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(url, timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer:\n{log.read_text(errors='replace')}")


def _token(environment: dict[str, str], role: str, cwd: Path) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "liveblog.cli", "token", "create", "--role", role, "--name", f"{role} one"],
        env=environment,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return {"Authorization": f"Bearer {done.stdout.strip()}"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not Path(VARNISHD).exists():
        pytest.fail(f"varnishd is not installed at {VARNISHD} (apt-get install varnish)")
    directory = tmp_path_factory.mktemp("varnish")
    origin_port, varnish_port = free_port(), free_port()
    vcl = directory / "liveblog.vcl"
    vcl.write_text(render_vcl("127.0.0.1", origin_port))
    workdir = directory / "varnishd"
    varnish_log = directory / "varnishd.log"
    # -j none: no privilege separation, so it runs as whoever runs the tests (root or not)
    # and reads this test's files.
    varnish = spawn(
        [
            *(VARNISHD, "-F", "-j", "none", "-a", f"127.0.0.1:{varnish_port}", "-f", str(vcl)),
            *("-n", str(workdir), "-s", "malloc,64m", "-p", "default_grace=0"),
        ],
        stdout=varnish_log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    environment = {
        **os.environ,
        "LIVEBLOG_DATABASE_URL": f"sqlite+aiosqlite:///{directory}/liveblog.db",
        "LIVEBLOG_SIGNING_KEY_PATH": str(directory / "signing.key"),
        "LIVEBLOG_LOG_LEVEL": "info",
        "LIVEBLOG_WRITE_BURST": "10000",
        "LIVEBLOG_PURGE_URLS": json.dumps([{"kind": "varnish", "url": f"http://127.0.0.1:{varnish_port}/"}]),
        "LIVEBLOG_CACHE_SHARED_MAX_AGE": "600",
    }
    server_log = directory / "server.log"
    server = spawn(
        [sys.executable, "-m", "liveblog.cli", "serve", "--port", str(origin_port)],
        env=environment,
        cwd=directory,
        stdout=server_log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        origin = f"http://127.0.0.1:{origin_port}"
        _wait_for(f"{origin}/api/v1/keys", server, server_log)
        through = f"http://127.0.0.1:{varnish_port}"
        _wait_for(f"{through}/api/v1/keys", varnish, varnish_log)
        yield Stack(
            varnish=through,
            origin=origin,
            workdir=workdir,
            environment=environment,
            editor=_token(environment, "editor", directory),
            admin=_token(environment, "admin", directory),
            consumer=_token(environment, "consumer", directory),
            logs=(server_log, varnish_log),
        )
    finally:
        # Varnish first: it holds the origin's connections (live streams), which the server
        # would otherwise wait for on its way out.
        stop_process(varnish, 15)
        stop_process(server, 15)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
        yield client


async def _write(
    http: httpx.AsyncClient, stack: Stack, method: str, path: str, body: Any, *, admin: bool = False
) -> dict[str, Any]:
    """A write at the origin (never through the cache); returns the answer's document."""
    response = await http.request(
        method, stack.origin + path, json=body, headers=stack.admin if admin else stack.editor
    )
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


async def _story(http: httpx.AsyncClient, stack: Stack, slug: str, *, publish: bool = True) -> dict[str, Any]:
    return await _write(
        http, stack, "POST", "/api/v1/stories", {"title": f"Story {slug}", "slug": slug, "publish": publish}
    )


async def test_a_thousand_reads_reach_the_origin_a_handful_of_times(
    http: httpx.AsyncClient, stack: Stack
) -> None:
    await _story(http, stack, "thousand")
    await _write(http, stack, "POST", "/api/v1/stories/thousand/updates", {"body": "Sirens at dawn."})
    url = f"{stack.varnish}/api/v1/stories/thousand"
    before = stack.counter("MAIN.backend_req")
    gate = asyncio.Semaphore(20)

    async def read() -> httpx.Response:
        async with gate:
            return await http.get(url)

    answers = await asyncio.gather(*(read() for _ in range(1000)))
    hits = stack.counter("MAIN.backend_req") - before
    assert all(a.status_code == 200 and "Sirens at dawn." in a.text for a in answers)
    # The first miss, and at most the re-purge liveblog sends shortly after each write.
    assert hits <= 5, hits
    assert sum(a.headers["x-cache"] == "HIT" for a in answers) >= 995
    assert "liveblog-story-thousand" in answers[-1].headers["surrogate-key"].split()


async def test_a_post_a_correction_and_a_retraction_are_fresh_at_once_after_the_purge(
    http: httpx.AsyncClient, stack: Stack
) -> None:
    slug = "fresh"
    await _story(http, stack, slug)
    first = await _write(
        http, stack, "POST", f"/api/v1/stories/{slug}/updates", {"body": "Shelling reported."}
    )
    pages = {
        "json": f"{stack.varnish}/api/v1/stories/{slug}",
        "page": f"{stack.varnish}/stories/{slug}",
        "update": f"{stack.varnish}/api/v1/stories/{slug}/updates/{first['id']}",
        "feed": f"{stack.varnish}/stories/{slug}/feed.json",
        "all": f"{stack.varnish}/feed.json",
    }

    async def cached_everywhere() -> None:
        # Until each is kept by Varnish (a late re-purge may force one more miss), so that
        # the next change has something stale to purge.
        for name, url in pages.items():
            deadline = time.monotonic() + DEADLINE
            while True:
                response = await http.get(url)
                assert response.status_code == 200, (name, response.text)
                if response.headers["x-cache"] == "HIT":
                    break
                assert time.monotonic() < deadline, (name, response.headers)
                await asyncio.sleep(0.05)

    async def change(method: str, path: str, body: Any, fresh: str, stale: str | None) -> None:
        bans = stack.counter("MAIN.bans_added")
        await _write(http, stack, method, path, body)
        await stack.purged_since(bans)
        for name, url in pages.items():
            if name == "update" and fresh == "Second post.":
                continue  # that update's own resource is not about the new one
            # The first answer after the purge is fresh; and never stale after it.
            for _ in range(3):
                response = await http.get(url)
                assert fresh in response.text, (name, response.headers)
                if stale is not None:
                    assert stale not in response.text, (name, response.headers)

    await cached_everywhere()
    await change("POST", f"/api/v1/stories/{slug}/updates", {"body": "Second post."}, "Second post.", None)
    await cached_everywhere()
    correction = {
        "changes": {"body": "Shelling confirmed by the mayor."},
        "kind": "correction",
        "reason": "Source",
        "note": "The mayor confirmed it.",
    }
    await change(
        "POST",
        f"/api/v1/stories/{slug}/updates/{first['id']}/corrections",
        correction,
        "Shelling confirmed by the mayor.",
        "Shelling reported.",
    )
    await cached_everywhere()
    retraction = {"reason": "Unverifiable", "note": "We could not verify this report."}
    await change(
        "POST",
        f"/api/v1/stories/{slug}/updates/{first['id']}/retraction",
        retraction,
        "We could not verify this report.",
        None,
    )
    assert (await http.get(pages["update"])).json()["status"] == "retracted"


async def test_a_redaction_reaches_the_long_cached_past(http: httpx.AsyncClient, stack: Stack) -> None:
    slug = "redacted-past"
    await _story(http, stack, slug)
    secret = "The informant is Ivan Petrenko."
    update = await _write(http, stack, "POST", f"/api/v1/stories/{slug}/updates", {"body": secret})
    # A second revision, so that the first page of the update's history is complete (cacheable).
    correction = {
        "changes": {"body": secret + " A clerk."},
        "kind": "clarification",
        "reason": "Detail",
        "note": "Added.",
    }
    await _write(
        http, stack, "POST", f"/api/v1/stories/{slug}/updates/{update['id']}/corrections", correction
    )
    past = f"{stack.varnish}/api/v1/stories/{slug}?at_version=3"
    history = f"{stack.varnish}/api/v1/stories/{slug}/updates/{update['id']}/history?limit=1"
    for url in (past, history):
        deadline = time.monotonic() + DEADLINE
        while (response := await http.get(url)).headers["x-cache"] != "HIT":
            assert time.monotonic() < deadline, (url, response.status_code, response.headers)
            await asyncio.sleep(0.05)
        assert secret in response.text and "s-maxage=3600" in response.headers["cache-control"]
    bans = stack.counter("MAIN.bans_added")
    redaction = {"legal_basis": "Court order", "note": "Removed by court order.", "reason": "Source safety"}
    await _write(
        http, stack, "POST", f"/api/v1/stories/{slug}/updates/{update['id']}/redaction", redaction, admin=True
    )
    await stack.purged_since(bans)
    for url in (past, history):
        response = await http.get(url)
        assert response.status_code == 200 and "Ivan Petrenko" not in response.text, url


async def test_drafts_and_token_holders_answers_never_enter_the_cache(
    http: httpx.AsyncClient, stack: Stack
) -> None:
    slug = "draft-only"
    await _story(http, stack, slug, publish=False)
    await _write(http, stack, "POST", f"/api/v1/stories/{slug}/updates", {"body": "Embargoed until noon."})
    for path in (f"/api/v1/stories/{slug}", f"/stories/{slug}", f"/api/v1/stories/{slug}/updates"):
        for _ in range(2):  # the second would be a hit if the first had been kept
            editor = await http.get(stack.varnish + path, headers=stack.editor)
            assert editor.status_code == 200 and "Embargoed" in editor.text
            assert editor.headers["cache-control"] == "private, no-store"
            assert editor.headers["x-cache"] == "MISS" and "surrogate-key" not in editor.headers
            reader = await http.get(stack.varnish + path)
            assert reader.status_code == 404 and "Embargoed" not in reader.text, path
    # An editor's view of a published story (with its staff-only parts) is not kept either.
    listing = await http.get(f"{stack.varnish}/api/v1/stories", headers=stack.editor)
    assert slug in listing.text and listing.headers["x-cache"] == "MISS"
    assert slug not in (await http.get(f"{stack.varnish}/api/v1/stories")).text
    # Once published, readers see it at once after the purge: the 404s were not kept.
    bans = stack.counter("MAIN.bans_added")
    await _write(http, stack, "POST", f"/api/v1/stories/{slug}/publish", None)
    await stack.purged_since(bans)
    assert (await http.get(f"{stack.varnish}/api/v1/stories/{slug}")).status_code == 200
    assert slug in (await http.get(f"{stack.varnish}/api/v1/stories")).text


async def test_sse_through_varnish_delivers_each_event_while_the_stream_is_open(
    http: httpx.AsyncClient, stack: Stack
) -> None:
    slug = "streamed"
    story = await _story(http, stack, slug)
    url = f"{stack.varnish}/api/v1/stories/{slug}/live?after={story['version']}"

    async def until(lines: AsyncIterator[str], needle: str) -> None:
        async for line in lines:
            if needle in line:
                return
        raise AssertionError(f"the stream ended before {needle!r}")

    async with http.stream("GET", url, headers={"Accept": "text/event-stream"}) as stream:
        assert stream.status_code == 200
        assert stream.headers["cache-control"] == "no-store"
        assert stream.headers["x-accel-buffering"] == "no"
        lines = stream.aiter_lines()
        await asyncio.wait_for(until(lines, "event: hello"), DEADLINE)
        await _write(
            http, stack, "POST", f"/api/v1/stories/{slug}/updates", {"body": "Live through the cache."}
        )
        # Arrives while the response is still open: Varnish does not wait for its end.
        await asyncio.wait_for(until(lines, "Live through the cache."), DEADLINE)
        assert not stream.is_closed
    # The change feed's stream too (a consumer's: passed, for its token).
    events = f"{stack.varnish}/api/v1/events"
    async with http.stream("GET", events, headers={"Accept": "text/event-stream", **stack.consumer}) as feed:
        assert feed.status_code == 200
        assert feed.headers["cache-control"] == "no-store" and feed.headers["x-accel-buffering"] == "no"


async def test_websockets_are_piped_and_say_no_store(stack: Stack, http: httpx.AsyncClient) -> None:
    story = await _story(http, stack, "socket")
    ws_url = (
        stack.varnish.replace("http://", "ws://") + f"/api/v1/stories/socket/live?after={story['version']}"
    )
    async with connect(ws_url, open_timeout=DEADLINE) as socket:
        assert socket.response is not None
        assert socket.response.headers["cache-control"] == "no-store"
        assert socket.response.headers["x-accel-buffering"] == "no"
        hello = json.loads(await asyncio.wait_for(socket.recv(), DEADLINE))
        assert hello["type"] == "hello"


async def test_a_purge_needs_well_formed_keys(http: httpx.AsyncClient, stack: Stack) -> None:
    refused = await http.request(
        "BAN", stack.varnish + "/", headers={"Surrogate-Key": 'x") || obj.status != ("'}
    )
    assert refused.status_code == 400
    assert (await http.request("BAN", stack.varnish + "/")).status_code == 400
    assert (
        await http.request("PURGE", stack.varnish + "/", headers={"Surrogate-Key": "a b"})
    ).status_code == 200
