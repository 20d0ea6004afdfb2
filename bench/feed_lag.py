"""Feed and webhook lag: how long after its commit an event reaches the change feed's SSE
consumer and a webhook receiver, under the 16-editor write load of bench/write_throughput.py.

One liveblog process on PostgreSQL, 16 published stories, ``wrk`` posting updates as 16
editors (one token each) for ``--duration`` seconds; meanwhile this process follows
``GET /api/v1/events`` as SSE with a consumer token and receives the deliveries of one
webhook (``LIVEBLOG_WEBHOOK_ALLOW_PRIVATE=true``, a receiver on 127.0.0.1 that checks every
signature with ``standardwebhooks``). Lag = arrival (wall clock) minus the event's
``recorded_at`` (same machine, same clock). After the load, every event the feed holds from
the start on must have arrived on both: the missing ones are counted. See bench/README.md.

    .venv/bin/python bench/feed_lag.py [--duration 20] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from harness import (
    REQUEST_TIMEOUT,
    RESULTS_DIR,
    SLUG,
    BenchError,
    describe_setup,
    fmt,
    fresh_database,
    measure_and_publish,
    open_story,
    parse_args,
    percentile_ms,
    progress,
    smoke_note,
    stop_process,
    table,
    wait_for_http,
)
from standardwebhooks import Webhook
from standardwebhooks.exceptions import WebhookVerificationError
from write_throughput import STORIES, create_tokens, liveblog_server, run_wrk

from liveblog.audit.signing import Signer
from liveblog.store.tokens import Role

GOAL_FEED_P99_MS = 100.0
GOAL_WEBHOOK_P99_MS = 1000.0
FEED_PAGE = 1000

Key = tuple[str, int]  # (story, version)


@dataclass
class Arrivals:
    """Events as they arrived on one channel: lag in seconds by (story, version)."""

    lags: dict[Key, float] = field(default_factory=dict)
    times: list[float] = field(default_factory=list)  # arrivals (wall clock), first ones only
    duplicates: int = 0
    rejected: int = 0  # webhook deliveries whose signature did not verify

    def add(self, item: dict[str, Any], arrived: float) -> None:
        key = (str(item["story"]), int(item["version"]))
        if key in self.lags:
            self.duplicates += 1
            return
        recorded = datetime.fromisoformat(str(item["recorded_at"]).replace("Z", "+00:00"))
        self.lags[key] = arrived - recorded.timestamp()
        self.times.append(arrived)

    def rate(self) -> float:
        """Events per second from the first arrival to the last (NaN for fewer than two)."""
        if len(self.times) < 2 or self.times[-1] <= self.times[0]:
            return math.nan
        return (len(self.times) - 1) / (self.times[-1] - self.times[0])


# --- the webhook receiver -------------------------------------------------------------------


class Receiver:
    """A minimal HTTP/1.1 server for webhook deliveries: verifies, records, answers 204."""

    def __init__(self, arrivals: Arrivals) -> None:
        self.arrivals = arrivals
        self.verifier: Webhook | None = None
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                arrived = time.time()
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for header in lines[1:]:
                    if ":" in header:
                        name, value = header.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status = self.receive(body, headers, arrived)
                writer.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def receive(self, body: bytes, headers: dict[str, str], arrived: float) -> str:
        if self.verifier is None:
            return "503 Service Unavailable"
        try:
            self.verifier.verify(body, headers)
        except WebhookVerificationError:
            self.arrivals.rejected += 1
            return "401 Unauthorized"
        delivery = json.loads(body)
        if delivery.get("event") is not None:
            self.arrivals.add(delivery["event"], arrived)
        return "204 No Content"


# --- the feed consumer ----------------------------------------------------------------------


async def feed_end(client: httpx.AsyncClient, token: str, after: str | None = None) -> tuple[str, list[Key]]:
    """The feed read as JSON pages from ``after`` to its end: the last cursor, and the events."""
    keys: list[Key] = []
    while True:
        params: dict[str, str | int] = {"limit": FEED_PAGE}
        if after is not None:
            params["after"] = after
        response = await client.get(
            "/api/v1/events", params=params, headers={"Authorization": f"Bearer {token}"}
        )
        if response.status_code != 200:
            raise BenchError(f"reading the feed failed: HTTP {response.status_code} {response.text[:300]}")
        page = response.json()
        keys += [(item["story"], item["version"]) for item in page["items"]]
        if page["next"] == after and not page["items"]:
            assert after is not None
            return after, keys
        after = page["next"]


async def follow_feed(
    client: httpx.AsyncClient, token: str, after: str, arrivals: Arrivals, ready: asyncio.Event
) -> None:
    """Follow the SSE feed from ``after`` on, recording every event's arrival, until cancelled."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    timeout = httpx.Timeout(REQUEST_TIMEOUT, read=None)
    async with client.stream(
        "GET", "/api/v1/events", params={"after": after, "limit": FEED_PAGE}, headers=headers, timeout=timeout
    ) as response:
        if response.status_code != 200:
            raise BenchError(f"the SSE feed answered HTTP {response.status_code}")
        kind = ""
        async for text in response.aiter_lines():
            if text.startswith("retry:"):
                ready.set()
            elif text.startswith("event:"):
                kind = text[6:].strip()
            elif text.startswith("data:") and kind == "event":
                arrivals.add(json.loads(text[5:]), time.time())


# --- the run --------------------------------------------------------------------------------


@dataclass
class Outcome:
    expected: list[Key]
    feed: Arrivals
    webhook: Arrivals
    requests: float  # posts per second during the load
    errors: int
    p99_post_ms: float
    drain_seconds: float


async def bench(args: argparse.Namespace) -> tuple[Outcome, list[str]]:
    setup = await describe_setup(["postgresql"], args.postgres_dsn)
    feed = Arrivals()
    webhook = Arrivals()
    receiver = Receiver(webhook)
    await receiver.start()
    async with fresh_database("postgresql", args.postgres_dsn) as (database, workdir):
        editors = await create_tokens(database.url, args.connections)
        (admin,) = await create_tokens(database.url, 1, Role.ADMIN)
        (consumer,) = await create_tokens(database.url, 1, Role.CONSUMER)
        Signer.from_file(workdir / "signing.key")
        server = liveblog_server(database, workdir, {"LIVEBLOG_WEBHOOK_ALLOW_PRIVATE": "true"})
        consumer_task: asyncio.Task[None] | None = None
        try:
            await wait_for_http(server, "/api/v1/stories")
            slugs = [SLUG] + [f"{SLUG}-{n}" for n in range(1, STORIES)]
            for slug in slugs:
                await open_story(server, editors[0], slug=slug, title=f"Benchmark {slug}")
            warm = argparse.Namespace(**{**vars(args), "duration": args.warmup})
            await run_wrk([server], warm, slugs, editors)
            async with httpx.AsyncClient(
                base_url=server.base_url, timeout=REQUEST_TIMEOUT, trust_env=False
            ) as client:
                response = await client.post(
                    "/api/v1/webhooks",
                    json={"url": f"http://127.0.0.1:{receiver.port}/hook"},
                    headers={"Authorization": f"Bearer {admin}"},
                )
                if response.status_code != 201:
                    raise BenchError(
                        f"registering the webhook failed: HTTP {response.status_code} {response.text}"
                    )
                receiver.verifier = Webhook(response.json()["secret"])
                start, _ = await feed_end(client, consumer)
                ready = asyncio.Event()
                consumer_task = asyncio.create_task(follow_feed(client, consumer, start, feed, ready))
                await asyncio.wait_for(ready.wait(), REQUEST_TIMEOUT)
                progress(f"{len(slugs)} stories, webhook and feed consumer ready; {args.duration} s of load")
                measured = await run_wrk([server], args, slugs, editors)
                progress(f"load done: {measured.rate:,.1f} posts/s, {measured.errors} errors; draining")
                _, expected = await feed_end(client, consumer, start)
                wanted = set(expected)
                drained = time.monotonic()
                while time.monotonic() - drained < args.drain:
                    if wanted <= feed.lags.keys() and wanted <= webhook.lags.keys():
                        break
                    if consumer_task.done():
                        failure = consumer_task.exception()
                        raise BenchError(f"the SSE feed ended early: {failure!r}")
                    server.check_alive()
                    await asyncio.sleep(0.05)
                drain_seconds = time.monotonic() - drained
        finally:
            if consumer_task is not None:
                consumer_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError, BenchError):
                    await consumer_task
            await receiver.close()
            stop_process(server.process)
    outcome = Outcome(
        expected=expected,
        feed=feed,
        webhook=webhook,
        requests=measured.rate,
        errors=measured.errors,
        p99_post_ms=measured.p99_ms,
        drain_seconds=drain_seconds,
    )
    return outcome, setup


def report(outcome: Outcome, setup: Sequence[str], args: argparse.Namespace, load: Sequence[float]) -> str:
    wanted = set(outcome.expected)
    lines = [
        "# Change feed and webhook lag under 16 editors, PostgreSQL",
        "",
        *smoke_note(args),
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; " + "; ".join(setup) + ".",
        f"{args.duration} s of wrk load after {args.warmup} s of warm-up: {args.connections} editors "
        f"(one token each) posting over {STORIES} stories to one liveblog process, "
        f"{outcome.requests:,.1f} posts/s, p99 {fmt(outcome.p99_post_ms, 1)} ms, {outcome.errors} errors. "
        "One SSE consumer of `GET /api/v1/events` (consumer token) and one webhook receiver "
        "(signatures checked), both in the benchmark process. Lag = arrival minus the event's "
        "`recorded_at` (taken in the writing transaction, before its commit). "
        f"Load average {load[0]:.1f} before, {load[1]:.1f} after; "
        f"waited {outcome.drain_seconds:.1f} s after the load for the last arrivals.",
        "",
    ]
    rows = []
    verdicts = []
    for name, arrivals, goal in (
        ("change feed (SSE)", outcome.feed, GOAL_FEED_P99_MS),
        ("webhook", outcome.webhook, GOAL_WEBHOOK_P99_MS),
    ):
        lags = [lag for key, lag in arrivals.lags.items() if key in wanted]
        missing = len(wanted - arrivals.lags.keys())
        p99 = percentile_ms(lags, 99)
        met = not math.isnan(p99) and p99 <= goal and missing == 0
        rows.append(
            [
                name,
                str(len(wanted)),
                str(len(lags)),
                str(missing),
                str(arrivals.duplicates),
                fmt(percentile_ms(lags, 50), 1),
                fmt(p99, 1),
                fmt(1000 * max(lags) if lags else math.nan, 1),
                f"≤ {goal:,.0f} ms",
                "**met**" if met else "**not met**",
            ]
        )
        verdicts.append(
            f"{name}: p99 {fmt(p99, 1)} ms, {missing} missing — {'met' if met else 'not met'}; "
            f"{fmt(arrivals.rate(), 1)} events/s from its first arrival to its last"
        )
    lines += table(
        [
            "channel",
            "events",
            "received",
            "missing",
            "duplicates",
            "p50 ms",
            "p99 ms",
            "max ms",
            "goal (p99)",
            "goal",
        ],
        "lrrrrrrrrl",
        rows,
    )
    lines += [
        "",
        *(f"- {verdict}" for verdict in verdicts),
        f"- webhook deliveries with a bad signature: {outcome.webhook.rejected}",
        "",
    ]
    return "\n".join(lines)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres", metavar="URL"
    )
    parser.add_argument("--duration", type=int, default=20, help="seconds of load [20]")
    parser.add_argument("--connections", type=int, default=16, help="concurrent editors [16]")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads [2]")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load first [3]")
    parser.add_argument(
        "--drain", type=float, default=60.0, help="longest wait for the last arrivals after the load [60]"
    )
    return parse_args(
        parser,
        argv,
        smoke={"duration": 2, "connections": 4, "warmup": 1, "drain": 20.0},
        results=RESULTS_DIR / "feed_lag.md",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    return measure_and_publish(
        args, bench(args), report, stopped="the server was stopped and the database dropped"
    )


if __name__ == "__main__":
    raise SystemExit(main())
