"""Profile ``POST /api/v1/stories/{slug}/updates`` in one process, on PostgreSQL.

The app runs in this process behind httpx's ASGI transport (no sockets), so a profile shows
the server's own work plus the in-process client, which the summary leaves out. It posts
``--warmup`` updates, then ``--posts`` more one after another under cProfile timed by
process CPU time (so waiting for PostgreSQL does not count), and prints the top functions,
the statements per post (counted with SQLAlchemy events and the driver's own hook) and the
process CPU per post. For sampling a running server, use py-spy (the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx
from harness import DEFAULT_POSTGRES_DSN, admin_execute

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests.sql_count

from liveblog.api.app import create_app
from liveblog.api.services import running_services
from liveblog.config import Settings
from liveblog.store import schema, tokens
from liveblog.store.database import Database
from liveblog.store.tokens import Role
from tests.sql_count import StatementCounter


async def run(args: argparse.Namespace) -> None:
    name = f"liveblog_bench_{secrets.token_hex(4)}"
    await admin_execute(args.postgres_dsn, f'CREATE DATABASE "{name}"')
    base = args.postgres_dsn.rsplit("/", 1)[0]
    url = f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    database = Database(url)
    try:
        await schema.upgrade(database)
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                database_url=url,
                signing_key_path=Path(tmp) / "signing.key",
                write_rate_per_minute=100_000_000,
                write_burst=100_000_000,
            )
            async with database.write() as connection:
                _, secret = await tokens.create(
                    connection, name="bench", role=Role.EDITOR, now=datetime.now(UTC)
                )
            auth = {"Authorization": f"Bearer {secret}"}
            async with running_services(settings, database) as services:
                app = create_app(services=services)
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                    opened = await client.post(
                        "/api/v1/stories",
                        json={"title": "Bench", "slug": "bench", "publish": True},
                        headers=auth,
                    )
                    assert opened.status_code == 201, opened.text
                    body = {"body": "A **bold** update with a [link](https://example.org) and some words."}

                    async def post(n: int) -> None:
                        headers = (
                            {**auth, "Idempotency-Key": f"k{n}-{secrets.token_hex(4)}"} if args.keys else auth
                        )
                        response = await client.post(
                            "/api/v1/stories/bench/updates", json=body, headers=headers
                        )
                        assert response.status_code == 201, response.text

                    for n in range(args.warmup):
                        await post(n)
                    with StatementCounter(database) as counter:
                        await post(-1)
                    print(f"statements per post: {counter.count}")
                    for statement in counter.statements:
                        print(f"  {statement[:110]}")
                    # CPU time, not wall time: waiting for PostgreSQL is not the server's cost.
                    profiler = cProfile.Profile(time.process_time) if args.profile else None
                    started = time.process_time()
                    if profiler is not None:
                        profiler.enable()
                    for n in range(args.posts):
                        await post(args.warmup + n)
                    if profiler is not None:
                        profiler.disable()
                    cpu = time.process_time() - started
                    if profiler is not None:
                        stats = pstats.Stats(profiler).strip_dirs()
                        stats.sort_stats("cumulative").print_stats(args.top)
                        stats.sort_stats("tottime").print_stats(args.top)
                    print(
                        f"process CPU per post (server + in-process client): {1000 * cpu / args.posts:.2f} ms"
                    )
    finally:
        await database.dispose()
        await admin_execute(args.postgres_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-dsn", default=DEFAULT_POSTGRES_DSN)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--keys", action="store_true", help="send a fresh Idempotency-Key with each post")
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument("--top", type=int, default=45, help="functions listed per ordering [45]")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop's event loop")
    args = parser.parse_args(argv)
    if args.uvloop:
        import uvloop  # type: ignore[import-not-found,unused-ignore]  # optional: --uvloop

        uvloop.run(run(args))
    else:
        asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
