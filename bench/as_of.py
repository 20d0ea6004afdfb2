"""As-of reads of a 10,000-event story: GET ?at_version=N and ?as_of=<time>, against the read model.

The acceptance text: "GET /api/v1/stories/{slug}?at_version=N and ?as_of=<time> return the story
exactly as it stood, byte-for-byte what the read model served then. Cost must not grow with
the length of the story: snapshots (or an equivalent) so any point of a 10,000-event story
comes back in <= 50 ms p95."

For each backend (SQLite, PostgreSQL) this creates a fresh database, runs ``liveblog migrate``
and builds one published story of exactly ``--events`` events in this process, through
``Application.handle`` (as the API would, but without HTTP): mostly posts of 300-600
characters of Markdown, ~15% corrections, verification changes, pins and unpins, a few
retractions and headline revisions. A fake clock moves 20 s per command, so every event has
its own time. While building, it keeps what the read model served at a few random versions.

Then, still in-process, on ``--baseline-samples`` random versions, the body made three ways
(checked equal): (d) ``fold`` from the first event and ``views.story_view``, (e) the newest
snapshot plus a fold of the events after it (``Application.load_at``), and (f) the past read
model the server reads (``past_views.read_story``).

Then it starts ``liveblog serve`` and, with one client, checks correctness (each sampled
``at_version`` body is byte-for-byte the read model's body at that version, and
``dumps(story_view(fold(events[:N])))``; ``as_of`` bodies match the version at that time),
and measures, interleaved, ``--rounds`` rounds of ``--requests`` requests each of:

* (a) ``?at_version=N``, N uniform over the published versions (2..events; version 1 is
  the unpublished draft, which readers may not see);
* (b) ``?as_of=T``, T uniform between the first and the last event;
* (c) the current story from the read model: the best case an as-of read could reach.

The results go to stdout as Markdown and to ``bench/results/as_of.md``; progress goes to
stderr. Exit status: 0, or 1 if any request failed or any body differed, 2 if the run could
not be done.

    .venv/bin/python bench/as_of.py [--backends sqlite,postgresql] [--events 10000]
                                    [--requests 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import base64
import bisect
import math
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from harness import (
    REQUEST_TIMEOUT,
    RESULTS_DIR,
    BenchError,
    Database,
    add_backend_arguments,
    describe_setup,
    execute,
    fmt,
    fresh_database,
    percentile_ms,
    progress,
    publish,
    run_cli,
    running_server,
    smoke_note,
    table,
)
from harness import parse_args as parse_bench_args

from liveblog.application import Application, build_application, decode
from liveblog.config import Settings
from liveblog.domain import Event, StoryState, fold
from liveblog.domain import commands as c
from liveblog.domain.events import UpdateChanges
from liveblog.domain.values import Claim, ClaimStatus, CorrectionKind, Media, MediaKind, Source, rfc3339
from liveblog.projections import past_views, views
from liveblog.projections import story_view as read_model
from liveblog.projections.story_view import dumps
from liveblog.store import event_store, snapshots
from liveblog.store.database import Database as AppDatabase
from liveblog.store.idempotency import StoredResponse
from liveblog.store.tokens import Actor, Role

RESULTS = RESULTS_DIR / "as_of.md"
SLUG = "as-of-bench"
PATH = f"/api/v1/stories/{SLUG}"
GOAL_EVENTS, GOAL_P95_MS = 10_000, 50.0
SIGNING_KEY_ENV = "LIVEBLOG_SIGNING_KEY_PATH"
STORY_START = datetime(2024, 3, 1, 6, 0, tzinfo=UTC)
SECONDS_PER_COMMAND = 20
FIRST_PUBLIC_VERSION = 2  # version 1 is the draft; OpenStory(publish=True) also records version 2
DESK = Actor(id="as-of-bench", name="Bench desk", role=Role.EDITOR)


# --- the story ------------------------------------------------------------------------------

AUTHORS = ("Olena Kovalenko", "James Whitfield", "Amira Haddad", "Tomasz Nowak", "Lucía Ferrer")
PLACES = ("Kharkiv", "the border crossing", "the regional capital", "the port", "the airport", "Sumy")
SENTENCES = (
    "Officials in {place} say {n} people have been moved to temporary shelters overnight.",
    (
        "A spokesperson for the regional administration told reporters that roads around {place} "
        "remain closed to all but emergency traffic."
    ),
    "Witnesses describe long queues of cars heading away from {place} since dawn.",
    "The **emergency services** say they have received {n} calls in the past hour alone.",
    (
        "We have not been able to independently verify the footage, which appears to show smoke "
        "rising over {place}."
    ),
    "In a statement, the ministry said the situation was *under control* and urged residents to stay calm.",
    "Power has been restored to about {n} homes, according to the grid operator.",
    "Our correspondent in {place} reports that the shelling has eased since the early morning.",
    "The mayor said schools would stay closed until at least Thursday.",
    "Aid agencies say {n} tonnes of supplies are waiting to cross at {place}.",
    "Read the [full statement](https://example.org/statements/{n}) on the governor's website.",
    "Rail services to {place} are running with delays of up to **{n} minutes**.",
)
LIST_ITEMS = ("water and food", "blankets", "medical supplies", "fuel", "phone chargers", "baby formula")
QUOTES = (
    '> "We left with nothing but our documents," one resident told us.',
    '> "The night was the worst since the start," a volunteer said.',
    '> "Help is on its way," the governor wrote on Telegram.',
)
HEADLINES = (
    "Live: evacuations continue as shelling hits border towns",
    "Live: thousands leave the region; aid convoys wait at the crossing",
    "Live: governor says the situation is under control",
    "Live: power restored in parts of the region after overnight strikes",
    "Live: talks on a local ceasefire, officials say",
)
SOURCES = (
    Source(name="Regional administration", url="https://example.org/administration"),
    Source(name="Emergency services, Telegram channel"),
    Source(name="Grid operator", url="https://example.org/grid"),
)
NOTES = ("Confirmed by two officials.", "Footage geolocated by our verification team.", None)
MIX = {"post": 68, "correct": 15, "verify": 8, "flags": 5, "retract": 2, "revise": 2}
RECENT = 40  # corrections, pins and retractions mostly touch the latest updates
MAX_PINNED = 3


def markdown_body(rng: random.Random) -> str:
    """A plausible live update of roughly 300 to 600 characters of Markdown."""
    target = rng.randint(300, 500)
    text = ""
    while len(text) < target:
        sentence = rng.choice(SENTENCES).format(place=rng.choice(PLACES), n=rng.randint(2, 900))
        text += ("\n\n" if text and rng.random() < 0.3 else " " if text else "") + sentence
    if rng.random() < 0.2:
        text += "\n\n" + "\n".join(f"- {item}" for item in rng.sample(LIST_ITEMS, 3))
    elif rng.random() < 0.2:
        text += "\n\n" + rng.choice(QUOTES)
    return text


@dataclass
class Newsroom:
    """The editors of the story: each command they make records exactly one event.

    They remember enough of the story (live updates, bodies, claims, pins, headline) never
    to ask for a change that changes nothing, which ``decide`` would answer with no event.
    """

    rng: random.Random
    live: list[str] = field(default_factory=list)  # not retracted, oldest first
    bodies: dict[str, str] = field(default_factory=dict)
    claims: dict[str, ClaimStatus | None] = field(default_factory=dict)
    pinned: list[str] = field(default_factory=list)
    headline: str = HEADLINES[0]
    made: Counter[str] = field(default_factory=Counter)

    def opening(self, at: datetime) -> c.OpenStory:
        return c.OpenStory(
            story=SLUG,
            at=at,
            publish=True,
            title=self.headline,
            summary="Follow the latest on the evacuations, the shelling and the aid convoys.",
        )

    def next_command(self, at: datetime) -> c.Command:
        kind = self.rng.choices(list(MIX), weights=list(MIX.values()))[0]
        if not self.live:
            kind = "post"
        self.made[kind] += 1
        match kind:
            case "post":
                return self._post(at)
            case "correct":
                return self._correct(at)
            case "verify":
                return self._verify(at)
            case "flags":
                return self._flags(at)
            case "retract":
                return self._retract(at)
            case _:
                return self._revise(at)

    def _recent(self) -> str:
        return self.rng.choice(self.live[-RECENT:])

    def _post(self, at: datetime) -> c.PostUpdate:
        rng = self.rng
        update_id = base64.urlsafe_b64encode(rng.randbytes(9)).decode()
        claim = Claim(status=ClaimStatus.UNVERIFIED) if rng.random() < 0.25 else None
        command = c.PostUpdate(
            story=SLUG,
            update_id=update_id,
            body=markdown_body(rng),
            author=rng.choice(AUTHORS),
            byline=f"Reporting from {rng.choice(PLACES)}" if rng.random() < 0.2 else None,
            sources=tuple(rng.sample(SOURCES, rng.randint(1, 2))) if rng.random() < 0.3 else (),
            verification=claim,
            key_event=rng.random() < 0.02,
            occurred_at=at - timedelta(minutes=rng.randint(1, 30)) if rng.random() < 0.2 else None,
            media=(
                (
                    Media(
                        kind=MediaKind.IMAGE,
                        url=f"https://example.org/photos/{update_id}.jpg",
                        caption="Our photo",
                    ),
                )
                if rng.random() < 0.1
                else ()
            ),
            at=at,
        )
        self.live.append(update_id)
        self.bodies[update_id] = command.body
        self.claims[update_id] = claim.status if claim is not None else None
        return command

    def _correct(self, at: datetime) -> c.CorrectUpdate:
        update_id = self._recent()
        body = markdown_body(self.rng)
        while body == self.bodies[update_id]:
            body = markdown_body(self.rng)
        self.bodies[update_id] = body
        kind = self.rng.choice(list(CorrectionKind))
        note = (
            None if kind is CorrectionKind.MINOR else "An earlier version of this update gave a wrong figure."
        )
        return c.CorrectUpdate(
            story=SLUG,
            update_id=update_id,
            changes=UpdateChanges(body=body),
            kind=kind,
            reason="New figures from the regional administration.",
            note=note,
            at=at,
        )

    def _verify(self, at: datetime) -> c.ChangeVerification:
        update_id = self._recent()
        status = self.rng.choice([s for s in ClaimStatus if s is not self.claims[update_id]])
        self.claims[update_id] = status
        return c.ChangeVerification(
            story=SLUG, update_id=update_id, status=status, note=self.rng.choice(NOTES), at=at
        )

    def _flags(self, at: datetime) -> c.SetFlags:
        candidates = [u for u in self.live[-RECENT:] if u not in self.pinned]
        if not candidates or len(self.pinned) >= MAX_PINNED or (self.pinned and self.rng.random() < 0.5):
            return c.SetFlags(story=SLUG, update_id=self.pinned.pop(0), pinned=False, at=at)
        update_id = self.rng.choice(candidates)
        self.pinned.append(update_id)
        return c.SetFlags(story=SLUG, update_id=update_id, pinned=True, at=at)

    def _retract(self, at: datetime) -> c.RetractUpdate:
        update_id = self._recent()
        self.live.remove(update_id)
        if update_id in self.pinned:
            self.pinned.remove(update_id)  # a retracted update is unpinned by the rules
        return c.RetractUpdate(
            story=SLUG,
            update_id=update_id,
            reason="Posted in error.",
            note="This update has been withdrawn: it repeated an unconfirmed report.",
            at=at,
        )

    def _revise(self, at: datetime) -> c.ReviseStory:
        self.headline = self.rng.choice([h for h in HEADLINES if h != self.headline])
        return c.ReviseStory(story=SLUG, title=self.headline, reason="The news has moved on.", at=at)


@dataclass
class FakeClock:
    """The application's clock, moved on by hand so each event has a meaningful time."""

    now: datetime = STORY_START

    def __call__(self) -> datetime:
        return self.now

    def advance(self) -> datetime:
        self.now += timedelta(seconds=SECONDS_PER_COMMAND)
        return self.now


@dataclass(frozen=True)
class Story:
    """The built story: its events (decoded), their times, and the read model's bodies then."""

    events: list[Event]
    recorded_at: list[datetime]
    served: dict[int, bytes]  # version -> the current-story body the read model gave then
    made: Counter[str]
    build_seconds: float

    @property
    def version(self) -> int:
        return len(self.events)

    def version_at(self, moment: datetime) -> int:
        """The version the story had reached at ``moment``, as ``event_store.version_at``."""
        return bisect.bisect_right(self.recorded_at, moment)


def no_response(_state: StoryState) -> StoredResponse:
    return StoredResponse(200, {}, "")


async def read_model_body(database: AppDatabase) -> bytes:
    """The current story exactly as ``GET /stories/{slug}`` serves it from the read model."""
    async with database.read() as connection:
        header = await read_model.read_header(connection, SLUG)
        assert header is not None
        return dumps(await read_model.read_story(connection, header)).encode()


async def build_story(
    application: Application, clock: FakeClock, events: int, keep: set[int], seed: int, name: str
) -> Story:
    """Play ``events`` events of commands into the story; keep the read model at ``keep``."""
    newsroom = Newsroom(random.Random(seed))
    served: dict[int, bytes] = {}
    started = time.perf_counter()
    command: c.Command = newsroom.opening(clock())
    version = 0
    while True:
        outcome = await application.handle(command, DESK, no_response)
        if len(outcome.recorded) != (2 if version == 0 else 1):
            raise BenchError(f"{type(command).__name__} recorded {len(outcome.recorded)} events")
        version = outcome.recorded[-1].version
        if version in keep:
            served[version] = await read_model_body(application.database)
        if version % 1000 == 0:
            rate = version / (time.perf_counter() - started)
            progress(f"[{name}] built {version:,}/{events:,} events ({rate:,.0f} events/s)")
        if version == events:
            break
        command = newsroom.next_command(clock.advance())
    build_seconds = time.perf_counter() - started
    async with application.database.read() as connection:
        recorded = await event_store.read_stream(connection, SLUG)
    return Story(
        events=[decode(r) for r in recorded],
        recorded_at=[r.recorded_at for r in recorded],
        served=served,
        made=newsroom.made,
        build_seconds=build_seconds,
    )


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Series:
    """One kind of request: latencies in seconds, by round, body sizes, and failures."""

    label: str
    rounds: list[list[float]] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def latencies(self) -> list[float]:
        return [latency for batch in self.rounds for latency in batch]


Params = Callable[[], dict[str, str]]


async def timed_get(client: httpx.AsyncClient, params: dict[str, str]) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = await client.get(PATH, params=params)
    return time.perf_counter() - started, response


async def measure_rounds(
    client: httpx.AsyncClient, kinds: dict[str, Params], args: argparse.Namespace, name: str
) -> tuple[list[Series], list[float]]:
    """``args.rounds`` rounds of ``args.requests`` requests of each kind, one at a time and
    interleaved (a, b, c, a, b, c, ...) so that load from elsewhere hits every kind alike.
    Also returns the 1-minute load average before each round and after the last."""
    for _ in range(args.warmup):
        for params in kinds.values():
            response = await client.get(PATH, params=params())
            if response.status_code != 200:
                raise BenchError(f"warm-up: HTTP {response.status_code} {response.text[:300]}")
    series = [Series(label) for label in kinds]
    load = [os.getloadavg()[0]]
    for round_number in range(1, args.rounds + 1):
        progress(f"[{name}] round {round_number}/{args.rounds}: {args.requests} requests of each kind ...")
        for one in series:
            one.rounds.append([])
        for _ in range(args.requests):
            for one, params in zip(series, kinds.values(), strict=True):
                try:
                    latency, response = await timed_get(client, params())
                except httpx.HTTPError as exc:
                    one.errors[f"{type(exc).__name__}: {exc}"[:160]] += 1
                    continue
                if response.status_code != 200:
                    one.errors[f"HTTP {response.status_code}: {response.text[:100]}"] += 1
                    continue
                one.rounds[-1].append(latency)
                one.sizes.append(len(response.content))
        load.append(os.getloadavg()[0])
        progress(
            f"[{name}] round {round_number}: p95 "
            + ", ".join(f"{one.label} {percentile_ms(one.rounds[-1], 95):.1f} ms" for one in series)
        )
    return series, load


@dataclass(frozen=True)
class Checks:
    """How many sampled as-of bodies were byte-identical to what they should be, and which not."""

    compared: int
    failures: list[str]


async def check_bodies(client: httpx.AsyncClient, story: Story, rng: random.Random, samples: int) -> Checks:
    """``at_version`` at every version whose read model was kept must give that body, which must
    also be the fold's; ``as_of`` at ``samples`` random times must give the fold's body then."""
    moments = sorted(random_moment(story, rng) for _ in range(samples))
    wanted = sorted(set(story.served) | {story.version_at(moment) for moment in moments})
    expected: dict[int, bytes] = {}
    state: StoryState | None = None
    for version in wanted:
        state = fold(state, story.events[state.version if state else 0 : version])
        assert state is not None
        expected[version] = dumps(views.story_view(state)).encode()
    failures: list[str] = []
    for version, served in sorted(story.served.items()):
        body = (await client.get(PATH, params={"at_version": str(version)})).content
        if body != served:
            failures.append(
                f"at_version={version}: differs from the read model then{first_difference(body, served)}"
            )
        if body != expected[version]:
            failures.append(
                f"at_version={version}: differs from the fold{first_difference(body, expected[version])}"
            )
    for moment in moments:
        version = story.version_at(moment)
        body = (await client.get(PATH, params={"as_of": rfc3339(moment) or ""})).content
        if body != expected[version]:
            failures.append(
                f"as_of={rfc3339(moment)} (version {version}): differs from the fold"
                f"{first_difference(body, expected[version])}"
            )
    current = (await client.get(PATH)).content
    if current != story.served[story.version]:
        failures.append("the current story differs from the read model's body at the end of the build")
    return Checks(compared=2 * len(story.served) + len(moments) + 1, failures=failures)


def first_difference(got: bytes, want: bytes) -> str:
    # The bodies may differ in length: compare the common part, else they differ where one ends.
    pairs = enumerate(zip(got, want, strict=False))
    at = next((i for i, (a, b) in pairs if a != b), min(len(got), len(want)))
    return f" (first at byte {at}; {len(got)} bytes, expected {len(want)})"


def random_moment(story: Story, rng: random.Random) -> datetime:
    first, last = story.recorded_at[0], story.recorded_at[-1]
    return first + timedelta(seconds=rng.uniform(0, (last - first).total_seconds()))


# --- in-process: the fold, the snapshot path and the past read model -----------------------


@dataclass
class InProcess:
    """Seconds per sampled version for three ways to produce the body of an as-of read."""

    fold: list[float] = field(default_factory=list)
    snapshot: list[float] = field(default_factory=list)
    past: list[float] = field(default_factory=list)
    snapshot_bytes: list[int] = field(default_factory=list)


async def in_process(application: Application, story: Story, versions: Sequence[int]) -> InProcess:
    """For each of ``versions``, the body made three ways, each timed and checked equal:
    ``fold(None, events[:N])`` + render (no help at all; reading and decoding the events not
    included), ``Application.load_at`` (newest snapshot + fold of the events after it) +
    render, and the past read model the server uses (``past_views.read_story`` + encode)."""
    result = InProcess()
    for version in versions:
        started = time.perf_counter()
        folded = dumps(views.story_view(fold_all(story.events[:version])))
        result.fold.append(time.perf_counter() - started)
        async with application.database.read() as connection:
            started = time.perf_counter()
            state = await application.load_at(connection, SLUG, version)
            assert state is not None
            from_snapshot = dumps(views.story_view(state))
            result.snapshot.append(time.perf_counter() - started)
            started = time.perf_counter()
            document = await past_views.read_story(connection, SLUG, version)
            past = dumps(document)
            result.past.append(time.perf_counter() - started)
            snapshot = await snapshots.latest(connection, SLUG, at_most=version)
        if not folded == from_snapshot == past:
            raise BenchError(f"the three ways disagree at version {version}")
        result.snapshot_bytes.append(len(snapshot.state.encode()) if snapshot else 0)
    return result


def fold_all(events: Sequence[Event]) -> StoryState:
    state = fold(None, events)
    assert state is not None
    return state


# --- the run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    backend: str
    story: Story
    series: list[Series]
    load: list[float]
    local: InProcess
    checks: Checks


@contextmanager
def environment(name: str, value: str) -> Iterator[None]:
    """``name=value`` in this process's environment, which ``run_cli`` and ``running_server``
    pass on to the ``liveblog`` commands; the old value is put back afterwards."""
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            del os.environ[name]
        else:
            os.environ[name] = previous


async def bench_backend(database: Database, workdir: Path, args: argparse.Namespace) -> Result:
    name = database.backend
    rng = random.Random(args.seed)
    key = workdir / "signing.key"
    with environment(SIGNING_KEY_ENV, str(key)):
        progress(f"[{name}] liveblog migrate")
        run_cli(database, workdir, "migrate")
        app_database = AppDatabase(database.url)
        try:
            application = await build_application(
                Settings(database_url=database.url, signing_key_path=key), app_database
            )
            clock = FakeClock()
            application.clock = clock
            keep = set(rng.sample(range(FIRST_PUBLIC_VERSION, args.events), args.checks)) | {args.events}
            progress(f"[{name}] building a story of {args.events:,} events in-process ...")
            story = await build_story(application, clock, args.events, keep, args.seed, name)
            progress(f"[{name}] built in {story.build_seconds:.0f} s; in-process: fold and render ...")
            versions = [rng.randint(FIRST_PUBLIC_VERSION, args.events) for _ in range(args.baseline_samples)]
            local = await in_process(application, story, versions)
        finally:
            await app_database.dispose()
        progress(
            f"[{name}] in-process p95: fold {percentile_ms(local.fold, 95):.1f} ms, "
            f"snapshot path {percentile_ms(local.snapshot, 95):.1f} ms, "
            f"past read model {percentile_ms(local.past, 95):.1f} ms"
        )
        async with (
            running_server(database, workdir) as server,
            httpx.AsyncClient(base_url=server.base_url, timeout=REQUEST_TIMEOUT) as client,
        ):
            checks = await check_bodies(client, story, rng, args.checks)
            progress(
                f"[{name}] {checks.compared - len(checks.failures)}/{checks.compared} bodies as expected"
            )
            kinds: dict[str, Params] = {
                "(a) `?at_version=N`": lambda: {
                    "at_version": str(rng.randint(FIRST_PUBLIC_VERSION, args.events))
                },
                "(b) `?as_of=T`": lambda: {"as_of": rfc3339(random_moment(story, rng)) or ""},
                "(c) current (read model)": dict,  # no parameters
            }
            series, load = await measure_rounds(client, kinds, args, name)
            server.check_alive()
    return Result(name, story, series, load, local, checks)


async def run(args: argparse.Namespace) -> tuple[list[Result], list[str]]:
    """The results per backend, and what was measured: the source, Python and each database."""
    setup = await describe_setup(args.backends, args.postgres_dsn)
    results: list[Result] = []
    for backend in args.backends:
        async with fresh_database(backend, args.postgres_dsn) as (database, workdir):
            results.append(await bench_backend(database, workdir, args))
    return results, setup


# --- the report -----------------------------------------------------------------------------


def ms(values: Sequence[float], p: float) -> str:
    return fmt(percentile_ms(values, p), 1)


def ratio(values: Sequence[float], best: Sequence[float], p: float) -> str:
    value = percentile_ms(values, p) / percentile_ms(best, p)
    return "n/a" if math.isnan(value) else f"{value:,.1f}x"


def report(results: Sequence[Result], setup: Sequence[str], args: argparse.Namespace) -> str:
    lines = [
        "# liveblog: as-of reads of a long story",
        "",
        (
            f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC} on {platform.node()} ({os.cpu_count()} cores): "
            f"{'; '.join(setup)}. One story of {args.events:,} events; one client; "
            f"{args.rounds} rounds x {args.requests} requests of each kind, interleaved, "
            f"after {args.warmup} unmeasured of each; (d) on {args.baseline_samples} random versions."
        ),
        "",
        *smoke_note(args),
    ]
    rows: list[list[str]] = []
    for result in results:
        best = result.series[-1].latencies
        for one in result.series:
            values = one.latencies
            by_round = " / ".join(ms(batch, 95) for batch in one.rounds)
            size = fmt(statistics.median(one.sizes) / 1024, 0) if one.sizes else "n/a"
            cells = [f"{len(values):,}", ms(values, 50), ms(values, 95), ms(values, 99), by_round]
            ratios = [ratio(values, best, 50), ratio(values, best, 95)]
            rows.append([result.backend, one.label, *cells, *ratios, size])
        local = result.local
        for label, values in (
            ("(d) no help: `fold` + `story_view`, in-process", local.fold),
            ("(e) snapshot + fold (`load_at`) + `story_view`, in-process", local.snapshot),
            ("(f) past read model (`past_views.read_story`), in-process", local.past),
        ):
            cells = [str(len(values)), ms(values, 50), ms(values, 95), ms(values, 99), ""]
            ratios = [ratio(values, best, 50), ratio(values, best, 95)]
            rows.append([result.backend, label, *cells, *ratios, ""])
    header = ["backend", "request", "n", "p50 ms", "p95 ms", "p99 ms", "p95 ms by round"]
    lines += table([*header, "p50 vs (c)", "p95 vs (c)", "median KB"], "llrrrrlrrr", rows)
    lines += ["", *goal_lines(results, args), "", *load_lines(results), ""]
    lines += ["", *story_lines(results), "", *check_lines(results)]
    return "\n".join(lines) + "\n"


def goal_lines(results: Sequence[Result], args: argparse.Namespace) -> list[str]:
    scope = "" if args.events == GOAL_EVENTS else f" (this run's story has {args.events:,} events)"
    lines = [f"Goal: any point of a {GOAL_EVENTS:,}-event story in <= {GOAL_P95_MS:g} ms p95{scope}:", ""]
    for result in results:
        for one in result.series[:2]:
            p95 = percentile_ms(one.latencies, 95)
            met = "met" if p95 <= GOAL_P95_MS else "NOT met"
            lines.append(f"- {result.backend}, {one.label}: **{met}** (p95 {fmt(p95, 1)} ms)")
    return lines


def load_lines(results: Sequence[Result]) -> list[str]:
    lines = ["Load average (1 min), before each round and after the last:", ""]
    return lines + [
        f"- {result.backend}: " + " -> ".join(f"{value:.2f}" for value in result.load) for result in results
    ]


def story_lines(results: Sequence[Result]) -> list[str]:
    lines = ["The stories:", ""]
    for result in results:
        story = result.story
        final = fold_all(story.events)
        updates = final.updates.values()
        made = ", ".join(f"{count:,} {kind}" for kind, count in story.made.most_common())
        snapshot_kb = max(result.local.snapshot_bytes) / 1024
        hours = (story.recorded_at[-1] - story.recorded_at[0]).total_seconds() / 3600
        lines.append(
            f"- {result.backend}: {hours:.1f} hours of story time, built in {story.build_seconds:.0f} s "
            f"({story.version / story.build_seconds:,.0f} events/s); after open+publish, {made}. At the "
            f"end: {len(updates):,} updates ({sum(u.retraction is not None for u in updates)} retracted), "
            f"{sum(views.is_pinned(u) for u in updates)} pinned, "
            f"{sum(views.is_key_event(u) for u in updates)} key events. The largest snapshot (e) "
            f"parsed was {snapshot_kb:,.0f} KB of JSON."
        )
    return lines


def check_lines(results: Sequence[Result]) -> list[str]:
    lines = ["Correctness:", ""]
    for result in results:
        checks = result.checks
        if not checks.failures:
            lines.append(
                f"- {result.backend}: all {checks.compared} comparisons byte-identical (`at_version` = the "
                f"read model's body then = the fold; `as_of` = the fold; current = the read model at the "
                f"end of the build)."
            )
        else:
            lines.append(f"- {result.backend}: **{len(checks.failures)} differences**:")
            lines += [f"  - {failure}" for failure in checks.failures]
        lines += [
            f"- {result.backend}: failed requests, {one.label}: {count} x {message}"
            for one in result.series
            for message, count in one.errors.most_common()
        ]
    return lines


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add_backend_arguments(parser)
    parser.add_argument("--events", type=positive, default=GOAL_EVENTS, help="events in the story [10000]")
    parser.add_argument(
        "--requests", type=positive, default=300, help="measured requests of each kind per round [300]"
    )
    parser.add_argument("--rounds", type=positive, default=3, help="measured rounds [3]")
    parser.add_argument(
        "--warmup",
        type=int,
        default=20,
        metavar="REQUESTS",
        help="unmeasured requests of each kind first [20]",
    )
    parser.add_argument(
        "--baseline-samples", type=positive, default=50, help="random versions for the in-process rows [50]"
    )
    parser.add_argument(
        "--checks", type=positive, default=20, help="random versions and times whose bodies are compared [20]"
    )
    parser.add_argument("--seed", type=int, default=1, help="for the story's content and the samples [1]")
    # Past one snapshot (every 100 versions), so that path (e) starts from one too.
    smoke = {"events": 130, "requests": 5, "rounds": 2, "warmup": 2, "baseline_samples": 3, "checks": 3}
    args = parse_bench_args(parser, argv, smoke=smoke, results=RESULTS)
    if not args.backends:
        parser.error("--backends needs at least one value")
    if args.warmup < 0:
        parser.error("--warmup must not be negative")
    if args.events - FIRST_PUBLIC_VERSION < args.checks:
        parser.error("--events must leave more published versions than --checks")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    results, setup = execute(run(args), stopped="the server was stopped and the database removed")
    publish(report(results, setup, args), args.results)
    failed = any(result.checks.failures or any(one.errors for one in result.series) for result in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
