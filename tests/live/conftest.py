"""A real uvicorn server in the test's own event loop, serving the test's services; and
``group``, real ``liveblog serve`` processes on the test's PostgreSQL database (tests/live/processes.py)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from fastapi import FastAPI

from liveblog.cli import proxy_options
from tests.live.processes import group  # noqa: F401  (re-exported fixture)


@pytest.fixture
async def server_url(app: FastAPI) -> AsyncIterator[str]:
    """``http://127.0.0.1:<port>`` of a uvicorn server running ``app`` (sans-I/O websockets,
    no per-message deflate, X-Forwarded-For as the settings trust it: as ``liveblog serve``
    runs it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        **proxy_options(app.state.services.settings),
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(task, timeout=10)
