"""Fixtures of the webhook tests: the app's settings with quick retries and polls, and
deliveries to 127.0.0.1 allowed (the test receiver lives there) unless a test marks
``@pytest.mark.webhooks(webhook_allow_private=False, ...)`` (keyword arguments of Settings)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from liveblog.config import Settings
from liveblog.store.database import Database
from tests.webhooks.receiver import Receiver, running_receiver

QUICK = {
    "webhook_allow_private": True,
    "webhook_retry_base_seconds": 0.05,
    "webhook_retry_max_seconds": 0.2,
    "webhook_max_failures": 3,
    "webhook_poll_seconds": 0.5,
    "webhook_timeout_seconds": 10.0,
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "webhooks(**settings): Settings overrides for this test's app")


@pytest.fixture
def settings(database: Database, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    marker = request.node.get_closest_marker("webhooks")
    overrides: dict[str, Any] = {**QUICK, **(marker.kwargs if marker is not None else {})}
    return Settings(
        database_url=database.url,
        signing_key_path=tmp_path / "signing.key",
        write_rate_per_minute=1_000_000,
        write_burst=1_000_000,
        **overrides,
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running


async def register(
    client: httpx.AsyncClient, admin: dict[str, str], url: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post("/api/v1/webhooks", json={"url": url, **fields}, headers=admin)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def state_when(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    webhook_id: str,
    condition: Callable[[dict[str, Any]], bool],
    timeout: float = 90.0,
) -> dict[str, Any]:
    """The endpoint as GET shows it, once ``condition`` holds (waiting generously)."""
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get(f"/api/v1/webhooks/{webhook_id}", headers=admin)
        assert response.status_code == 200, response.text
        state = dict(response.json())
        if condition(state):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"the endpoint never got there; it is {state}")
        await asyncio.sleep(0.1)
