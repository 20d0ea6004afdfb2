"""The rule of ``publish_at`` (issue 15), shared by the routes that take one: a new update,
a publication, a reschedule; and the rendering of a scheduled item as a response."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Literal

from liveblog.config import Settings
from liveblog.domain.state import StoryState
from liveblog.errors import InvalidInput, PublishAtNotInFuture
from liveblog.projections import scheduled
from liveblog.store.idempotency import StoredResponse


def skew(settings: Settings) -> timedelta:
    """How close to now a ``publish_at`` means now (clocks disagree a little)."""
    return timedelta(seconds=settings.schedule_skew_seconds)


def new_schedule_id() -> str:
    """The id of a scheduled publication (a scheduled update's is its update's id)."""
    return "s" + secrets.token_urlsafe(9)


def when(publish_at: datetime | None, now: datetime, settings: Settings) -> Literal["now", "later"]:
    """What a new item's ``publish_at`` means: ``now`` (absent, or within the skew of now),
    ``later`` (further ahead, up to ``schedule_max_ahead_days``); else a 422."""
    if publish_at is None:
        return "now"
    margin = skew(settings)
    if publish_at < now - margin:
        raise PublishAtNotInFuture(
            f"`publish_at` {publish_at.isoformat()} is in the past (now is {now.isoformat()}); "
            "leave it out to publish now"
        )
    not_too_far(publish_at, now, settings)
    return "now" if publish_at <= now + margin else "later"


def not_too_far(publish_at: datetime, now: datetime, settings: Settings) -> None:
    if publish_at - now > timedelta(days=settings.schedule_max_ahead_days):
        raise InvalidInput(
            f"`publish_at` is more than {settings.schedule_max_ahead_days} days ahead "
            "(LIVEBLOG_SCHEDULE_MAX_AHEAD_DAYS)"
        )


def scheduled_response(state: StoryState, item_id: str, *, status: int = 200) -> StoredResponse:
    headers = {"Location": f"/api/v1/stories/{state.slug}/scheduled/{item_id}"} if status == 202 else {}
    return StoredResponse(status=status, headers=headers, body=scheduled.item_json(state, item_id))
