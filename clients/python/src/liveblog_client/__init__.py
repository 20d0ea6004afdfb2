"""liveblog-client: a Python client of the liveblog API (HTTP and WebSocket only).

* :class:`AsyncClient` and :class:`Client`: one method per endpoint of docs/api.md, typed models
  in and out (:mod:`liveblog_client.models`, :mod:`liveblog_client.bodies`), typed errors
  (:mod:`liveblog_client.errors`), retries that never post twice.
* :meth:`AsyncClient.follow`: a story's events, live, each version once, across reconnects.
* :mod:`liveblog_client.audit`: an independent verifier of the audit format.
* ``liveblog-client``: the command line (:mod:`liveblog_client.cli`).
"""

from liveblog_client.bodies import (
    Approval,
    Changes,
    Claim,
    Correction,
    Flags,
    NewStory,
    NewSubmission,
    NewUpdate,
    Rejection,
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
from liveblog_client.models import LiveEvent, Resync, Story, StoryHeader, Submission, Update
from liveblog_client.retry import Backoff, RetryPolicy
from liveblog_client.sync import Client

__all__ = [
    "ApiError",
    "Approval",
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
    "NewSubmission",
    "NewUpdate",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "Rejection",
    "Resync",
    "Retraction",
    "RetryPolicy",
    "RevisionConflict",
    "ServerError",
    "Settings",
    "Story",
    "StoryHeader",
    "StoryPatch",
    "Submission",
    "Unauthenticated",
    "UnexpectedResponse",
    "Update",
    "ValidationFailed",
    "load_settings",
]
