"""liveblog-client: a Python client of the liveblog API (HTTP and WebSocket only).

* :class:`AsyncClient` and :class:`Client`: one method per endpoint of docs/api.md, typed models
  in and out (:mod:`liveblog_client.models`, :mod:`liveblog_client.bodies`), typed errors
  (:mod:`liveblog_client.errors`), retries that never post twice.
* :meth:`AsyncClient.follow`: a story's events, live, each version once, across reconnects.
* :mod:`liveblog_client.audit`: an independent verifier of the audit format.
* ``liveblog-client``: the command line (:mod:`liveblog_client.cli`).
"""

from liveblog_client.bodies import (
    Changes,
    Claim,
    Correction,
    Flags,
    NewStory,
    NewUpdate,
    Retraction,
    StoryPatch,
)
from liveblog_client.client import AsyncClient
from liveblog_client.config import Settings, load_settings
from liveblog_client.errors import (
    ApiError,
    BadRequest,
    Conflict,
    ConnectionFailed,
    Forbidden,
    LiveblogClientError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    RevisionConflict,
    ServerError,
    Unauthenticated,
    UnexpectedResponse,
    ValidationFailed,
)
from liveblog_client.models import LiveEvent, Resync, Story, StoryHeader, Update
from liveblog_client.retry import Backoff, RetryPolicy
from liveblog_client.sync import Client

__all__ = [
    "ApiError",
    "AsyncClient",
    "Backoff",
    "BadRequest",
    "Changes",
    "Claim",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "Correction",
    "Flags",
    "Forbidden",
    "LiveEvent",
    "LiveblogClientError",
    "NewStory",
    "NewUpdate",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "Resync",
    "Retraction",
    "RetryPolicy",
    "RevisionConflict",
    "ServerError",
    "Settings",
    "Story",
    "StoryHeader",
    "StoryPatch",
    "Unauthenticated",
    "UnexpectedResponse",
    "Update",
    "ValidationFailed",
    "load_settings",
]
