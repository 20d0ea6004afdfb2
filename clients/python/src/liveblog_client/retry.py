"""When to try a request again, and how long to wait first.

Every write carries an ``Idempotency-Key`` that stays the same across its retries, so a
retry after a lost answer replays the first outcome instead of posting twice. Retried:
connection failures (refused, reset, timed out) and answers 429 and 5xx; never a 4xx
refusal, which would only be refused again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import httpx

from liveblog_client.errors import ConnectionFailed, retry_after

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: ``initial * factor**n``, at most ``maximum`` seconds,
    each delay shortened at random by up to ``jitter`` (a fraction) so that many clients
    do not come back at the same instant."""

    initial: float = 0.25
    maximum: float = 8.0
    factor: float = 2.0
    jitter: float = 0.2

    def delay(self, attempt: int) -> float:
        """The wait before retry number ``attempt`` (0 for the first retry)."""
        base = min(self.initial * self.factor**attempt, self.maximum)
        return base * (1.0 - self.jitter * random.random())


@dataclass(frozen=True)
class RetryPolicy:
    """Up to ``attempts`` tries of one request in all, spaced by ``backoff``."""

    attempts: int = 4
    backoff: Backoff = field(default_factory=Backoff)


DEFAULT_RETRY = RetryPolicy()


class Attempts:
    """The retry bookkeeping of one request, shared by the sync and async clients::

    attempts = Attempts(policy, url)
    while True:
        try:
            response = send(request)
        except httpx.TransportError as exc:
            sleep(attempts.after_failure(exc))   # raises ConnectionFailed when spent
            continue
        delay = attempts.after_response(response)
        if delay is None:
            return response                      # final: success or an error to raise
        sleep(delay)
    """

    def __init__(self, policy: RetryPolicy, url: str) -> None:
        self.policy = policy
        self.url = url
        self.done = 0

    def _next_delay(self) -> float | None:
        self.done += 1
        if self.done >= self.policy.attempts:
            return None
        return self.policy.backoff.delay(self.done - 1)

    def after_failure(self, error: httpx.TransportError) -> float:
        """The wait before trying again after ``error``; raises :class:`ConnectionFailed`
        when no try is left."""
        delay = self._next_delay()
        if delay is None:
            raise ConnectionFailed(f"cannot reach {self.url}: {error!r}") from error
        return delay

    def after_response(self, response: httpx.Response) -> float | None:
        """The wait before trying again, or ``None`` when ``response`` is the final answer."""
        if response.status_code not in RETRY_STATUSES:
            return None
        delay = self._next_delay()
        if delay is None:
            return None
        hinted = retry_after(response)
        return delay if hinted is None else min(max(hinted, delay), self.policy.backoff.maximum)
