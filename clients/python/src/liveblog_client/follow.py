"""Following a story live over its WebSocket, through lost connections and server restarts.

:func:`follow` is an async iterator of :class:`~liveblog_client.models.LiveEvent`. It keeps
the last version it yielded and, whenever the connection ends (the network, a restart of
the server, a close for being too slow, a silence longer than ``idle_timeout``), connects
again with ``after`` = that version, waiting longer after each failure in a row. So every
version the server shows this reader is yielded once, in order, none twice; a version
missing from the middle of a connection's stream is fetched again by reconnecting.

The server decides where a stream starts: the first event it replays after ``after`` may
skip versions it does not show this reader (a story's draft period is for the newsroom;
readers start at its publication), and those are not waited for. When the server cannot
replay what was missed at all (its ``reset``), the iterator reloads the story, yields a
:class:`~liveblog_client.models.Resync` with it, and goes on after the reloaded version.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING

from pydantic import TypeAdapter, ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from liveblog_client import errors
from liveblog_client.connection import user_agent
from liveblog_client.models import Hello, LiveEvent, LiveMessage, Problem, Reset, Resync
from liveblog_client.retry import Backoff

if TYPE_CHECKING:
    from liveblog_client.client import AsyncClient

FollowItem = LiveEvent | Resync

log = logging.getLogger(__name__)
FOLLOW_BACKOFF = Backoff(initial=0.2, maximum=10.0)
MESSAGES: TypeAdapter[LiveMessage] = TypeAdapter(LiveMessage)
KNOWN_TYPES = frozenset({"hello", "event", "reset", "heartbeat"})
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
# The server refuses a subscription by closing with 4000 + the HTTP status it means.
REFUSALS: dict[int, type[errors.ApiError]] = {
    4400: errors.BadRequest,
    4401: errors.Unauthenticated,
    4403: errors.Forbidden,
    4404: errors.NotFound,
}


def _parse(text: str | bytes) -> LiveMessage | None:
    """The message in ``text``; ``None`` for a message type this client does not know."""
    try:
        kind = json.loads(text).get("type")
        if kind not in KNOWN_TYPES:
            return None
        return MESSAGES.validate_json(text)
    except (ValueError, AttributeError, ValidationError) as exc:
        raise errors.UnexpectedResponse(
            f"live delivery sent a message that does not fit docs/api.md: {exc}"
        ) from exc


def _refusal(closed: ConnectionClosed) -> errors.ApiError | None:
    """The typed error for a close that refuses the subscription (not worth retrying)."""
    if closed.rcvd is None or closed.rcvd.code not in REFUSALS:
        return None
    code = closed.rcvd.code
    problem = Problem(status=code - 4000, title="live delivery refused", detail=closed.rcvd.reason)
    return REFUSALS[code](problem)


async def _messages(socket: ClientConnection, idle_timeout: float) -> AsyncIterator[LiveMessage]:
    """The messages of ``socket``; raises ``TimeoutError`` after ``idle_timeout`` seconds of
    silence (the server sends a heartbeat at least every 30 s) and ``ConnectionClosed`` at the end."""
    while True:
        message = _parse(await asyncio.wait_for(socket.recv(), idle_timeout))
        if message is not None:
            yield message


async def follow(
    client: AsyncClient,
    slug: str,
    *,
    after: int = 0,
    until_version: int | None = None,
    backoff: Backoff = FOLLOW_BACKOFF,
    max_attempts: int | None = None,
    idle_timeout: float = 60.0,
) -> AsyncGenerator[FollowItem, None]:
    """Story ``slug``'s events with a version above ``after``, as they happen.

    Stops after yielding ``until_version`` (at once if ``after`` is already there; never when
    ``None``). Raises the typed error when the server refuses the subscription
    (:class:`~liveblog_client.errors.NotFound` for an unknown story, or a draft without an
    editor token; :class:`~liveblog_client.errors.Unauthenticated`), and
    :class:`~liveblog_client.errors.ConnectionFailed` after ``max_attempts`` connections in a
    row that failed before the server's hello (``None``: keeps trying for ever).
    """
    last = after
    failures = 0
    while until_version is None or last < until_version:
        cause: BaseException | None = None
        try:
            async with connect(
                client.connection.live_url(slug, last),
                additional_headers=client.connection.auth_headers(),
                user_agent_header=user_agent(),
                open_timeout=client.connection.timeout,
                max_size=MAX_MESSAGE_BYTES,
            ) as socket:
                replaying = True  # until this connection's first new event
                async for message in _messages(socket, idle_timeout):
                    if isinstance(message, Hello):
                        failures = 0
                    elif isinstance(message, LiveEvent):
                        if message.version <= last:
                            continue  # already yielded (a replay overlapping what was seen)
                        if message.version != last + 1 and not replaying:
                            break  # a version went missing: resume after the last one seen
                        if message.version != last + 1:
                            log.info(
                                "%s: versions %d to %d are not shown to this reader",
                                slug,
                                last + 1,
                                message.version - 1,
                            )
                        replaying = False
                        last = message.version
                        yield message
                        if until_version is not None and last >= until_version:
                            return
                    elif isinstance(message, Reset):
                        story = await client.story(slug)
                        last = story.version
                        yield Resync(story=story)
                        break
        except ConnectionClosed as closed:
            refused = _refusal(closed)
            if refused is not None:
                raise refused from closed
            cause = closed
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            cause = exc
        failures += 1
        if max_attempts is not None and failures >= max_attempts:
            raise errors.ConnectionFailed(
                f"live delivery of {slug!r} failed {failures} times in a row; last: {cause!r}"
            ) from cause
        delay = backoff.delay(failures - 1)
        if cause is not None:
            log.warning(
                "live delivery of %s interrupted (%r); resuming after version %d in %.1f s",
                slug,
                cause,
                last,
                delay,
            )
        await asyncio.sleep(delay)
