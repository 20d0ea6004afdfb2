"""A webhook receiver for the tests: a real HTTP server on 127.0.0.1 (uvicorn, in the test's
loop) that records every request, answers as told (fail the next N, slow down), and checks
signatures with the ``standardwebhooks`` package, as a receiver in the wild would."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks.webhooks import Webhook


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    def verified(self, secret: str) -> dict[str, Any]:
        """The payload, once ``standardwebhooks`` accepts the signature (raises otherwise)."""
        payload: dict[str, Any] = Webhook(secret).verify(self.body, self.headers)
        return payload

    @property
    def payload(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document


@dataclass
class Receiver:
    fail_next: int = 0  # answer 500 to this many requests first
    fail_always: bool = False
    delay: float = 0.0  # seconds before answering
    hold: asyncio.Event | None = None  # when set, requests wait for it before they are answered
    holding: int = 0  # requests waiting for ``hold`` now
    requests: list[Delivery] = field(default_factory=list)
    url: str = ""
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def accepted(self) -> list[Delivery]:
        return [d for d in self.requests if d.status == 200]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.hold is not None and not self.hold.is_set():
            self.holding += 1
            self._changed.set()
            await self.hold.wait()
            self.holding -= 1
        status = 200
        if self.fail_always or self.fail_next > 0:
            self.fail_next = max(0, self.fail_next - 1)
            status = 500
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        self.requests.append(Delivery(headers=headers, body=body, status=status))
        self._changed.set()
        answer = b"receiver says no" if status != 200 else b"ok"
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": answer})

    async def wait_for(self, condition: Callable[[Receiver], bool], timeout: float = 90.0) -> None:
        """Wait (generously: the machine is shared) until ``condition`` holds."""
        deadline = time.monotonic() + timeout
        while not condition(self):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"the receiver never saw what was expected; it got {len(self.requests)} requests: "
                    f"{[(d.status, d.headers.get('webhook-id')) for d in self.requests][-20:]}"
                )
            self._changed.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 1.0))


@asynccontextmanager
async def running_receiver(receiver: Receiver | None = None) -> AsyncIterator[Receiver]:
    receiver = receiver or Receiver()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(receiver, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    receiver.url = f"http://127.0.0.1:{port}/hooks/liveblog"
    try:
        yield receiver
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


def in_order_per_story(payloads: list[dict[str, Any]]) -> bool:
    """Whether, after dropping repeats, each story's versions arrive in increasing order."""
    last: dict[str, int] = {}
    for payload in payloads:
        story, version = payload["story"], payload["version"]
        if version < last.get(story, 0):
            return False
        last[story] = max(version, last.get(story, 0))
    return True
