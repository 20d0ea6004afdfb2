"""The web stack's limit: a minimal FastAPI + pydantic + asyncpg endpoint, one INSERT per request.

``POST /api/v1/stories/{slug}/updates`` with ``{"body": "..."}`` validates the body with
pydantic, inserts one row with asyncpg from a pool (one round trip, autocommit), and answers
201 with a small JSON document rendered by pydantic. ``GET /health`` answers 200. It runs
under uvicorn with its defaults (``loop="auto"``, ``http="auto"``: uvloop and httptools when
installed) — what the same stack does with no application around the INSERT. ``--http h11``
runs it on the HTTP parser liveblog's server uses (h11, for its header and body timeouts).

    python bench/minimal_endpoint.py --dsn postgresql://... --port 8001 [--http h11]
"""

from __future__ import annotations

import argparse
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import uvicorn
from fastapi import FastAPI, Request
from pydantic import BaseModel, Field

TABLE = """CREATE TABLE IF NOT EXISTS minimal_updates (
    id bigserial PRIMARY KEY, story text NOT NULL, update_id text NOT NULL,
    body text NOT NULL, posted_at timestamptz NOT NULL)"""
INSERT = (
    "INSERT INTO minimal_updates (story, update_id, body, posted_at) VALUES ($1, $2, $3, $4) RETURNING id"
)


class NewUpdate(BaseModel):
    body: str = Field(min_length=1, max_length=20_000)


class Posted(BaseModel):
    id: str
    story: str
    position: int
    body: str
    posted_at: datetime


def create_app(dsn: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(dsn, min_size=4, max_size=20)
        await pool.execute(TABLE)
        app.state.pool = pool
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/stories/{slug}/updates", status_code=201)
    async def post_update(slug: str, update: NewUpdate, request: Request) -> Posted:
        update_id = "u" + secrets.token_urlsafe(9)
        now = datetime.now(UTC)
        position: Any = await request.app.state.pool.fetchval(INSERT, slug, update_id, update.body, now)
        return Posted(id=update_id, story=slug, position=int(position), body=update.body, posted_at=now)

    return app


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="a minimal FastAPI + pydantic + asyncpg endpoint")
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--http", default="auto", choices=("auto", "h11", "httptools"), help="uvicorn's HTTP parser [auto]"
    )
    args = parser.parse_args(argv)
    uvicorn.run(create_app(args.dsn), host="127.0.0.1", port=args.port, log_level="warning", http=args.http)


if __name__ == "__main__":
    main()
