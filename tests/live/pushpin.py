"""A real Pushpin (Debian's package) for the tests: a non-daemon process with a config, a
routes file, run and log directories of its own in a temporary folder, and its own free
ports for everything it opens over TCP (HTTP, the ZeroMQ publish, subscribe and command
sockets, the HTTP publish endpoint); its IPC sockets (and its own zurl's, the HTTP client
it reaches the origin with) live in its own run directory.

And :class:`PublishRelay`: the publish endpoint liveblog is given in the tests, in front of
Pushpin's own, which can be told to lose messages (as a network or a restarted proxy would)
so that the tests see Pushpin recover them from the origin.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.live.processes import free_port
from tests.process_guard import spawn
from tests.process_guard import stop as stop_process

START_TIMEOUT = 60.0

CONFIG = """\
[global]
include={{libdir}}/internal.conf
rundir={run}
ipc_prefix=lb-
port_offset=0
stats_connection_ttl=120

[runner]
services=condure,zurl,pushpin-proxy,pushpin-handler
http_port=127.0.0.1:{http}
logdir={log}
log_level=2
client_buffer_size=8192
client_maxconn=10000
condure_bin=condure

[proxy]
# Debian's internal.conf expects a system zurl (Pushpin's HTTP client to the origins) under
# /var/run/zurl; this one runs its own (the runner's `zurl` service) in the run directory.
zurl_out_specs=ipc://{{rundir}}/{{ipc_prefix}}zurl-in
zurl_out_stream_specs=ipc://{{rundir}}/{{ipc_prefix}}zurl-in-stream
zurl_in_specs=ipc://{{rundir}}/{{ipc_prefix}}zurl-out
routesfile={routes}
debug=false
auto_cross_origin=false
accept_x_forwarded_protocol=false
set_x_forwarded_protocol=proto-only
sig_iss=pushpin
sig_key={sig_key}
updates_check=off

[handler]
push_in_spec=tcp://127.0.0.1:{push_in}
push_in_sub_specs=tcp://127.0.0.1:{push_in_sub}
push_in_sub_connect=false
push_in_http_addr=127.0.0.1
push_in_http_port={publish}
command_spec=tcp://127.0.0.1:{command}
stats_spec=ipc://{{rundir}}/{{ipc_prefix}}stats
message_rate=100000
message_hwm=100000
message_wait=5000
id_cache_ttl=60
connection_subscription_max=20
subscription_linger=60
"""


@dataclass
class Pushpin:
    """One Pushpin in ``directory``, in front of the origins ``origins`` (host:port)."""

    directory: Path
    origins: list[str]
    sig_key: str
    http: int = field(default_factory=free_port)
    publish: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http}"

    @property
    def publish_url(self) -> str:
        return f"http://127.0.0.1:{self.publish}/"

    def start(self) -> None:
        binary = shutil.which("pushpin")
        assert binary is not None, (
            "pushpin is not installed (Debian's package `pushpin`; .ci/run installs it)"
        )
        for name in ("run", "log"):
            (self.directory / name).mkdir(parents=True, exist_ok=True)
        routes = self.directory / "routes"
        # over_http: WebSockets reach the origin as WebSocket-over-HTTP. Several origins on
        # one line are balanced by Pushpin.
        routes.write_text("* " + ",".join(f"{origin},over_http" for origin in self.origins) + "\n")
        config = self.directory / "pushpin.conf"
        config.write_text(
            CONFIG.format(
                run=self.directory / "run",
                log=self.directory / "log",
                routes=routes,
                sig_key=self.sig_key,
                http=self.http,
                push_in=free_port(),
                push_in_sub=free_port(),
                publish=self.publish,
                command=free_port(),
            )
        )
        log = (self.directory / "pushpin.out").open("ab")
        self.process = spawn(
            [binary, "--config", str(config), "--merge-output"],
            cwd=self.directory,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pushpin exited:\n{self.log_tail()}")
            try:
                # Through the proxy to the origin: both are up.
                if httpx.get(f"{self.url}/api/v1/keys", timeout=2).status_code == 200:
                    httpx.post(self.publish_url + "publish/", json={"items": []}, timeout=2)
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"pushpin did not start:\n{self.log_tail()}")

    def log_tail(self, characters: int = 4000) -> str:
        try:
            return (self.directory / "pushpin.out").read_text(errors="replace")[-characters:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            stop_process(process, 15)


class PublishRelay:
    """An HTTP publish endpoint that passes every publish on to ``target`` (Pushpin's),
    except the items it is told to lose: :meth:`lose` (by channel and id)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.port = free_port()
        self._lose: set[tuple[str, str]] = set()
        self._fail = 0
        self.failed = 0
        self.lost: list[tuple[str, str]] = []
        self.seen: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
                kept = []
                with relay._lock:
                    if relay._fail > 0:
                        relay._fail -= 1
                        relay.failed += 1
                        self.send_response(503)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    for item in body.get("items", []):
                        relay.seen.append(item)
                        key = (item.get("channel", ""), item.get("id", ""))
                        if key in relay._lose:
                            relay._lose.discard(key)
                            relay.lost.append(key)
                        else:
                            kept.append(item)
                status = 200
                if kept:
                    try:
                        status = httpx.post(
                            relay.target + "publish/", json={"items": kept}, timeout=10
                        ).status_code
                    except httpx.HTTPError:
                        status = 503  # Pushpin is down (it stops first at the end of the module)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def lose(self, channel: str, version: int) -> None:
        """Lose the message of ``version`` on ``channel`` when it is published (it is
        acknowledged as if delivered)."""
        with self._lock:
            self._lose.add((channel, str(version)))

    def fail(self, count: int) -> None:
        """Answer the next ``count`` publishes 503 (the endpoint briefly unavailable)."""
        with self._lock:
            self._fail = count

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
