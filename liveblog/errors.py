"""The error tree of liveblog.

Every error the application raises on purpose derives from :class:`LiveblogError`.
Infrastructure errors (database drivers, the network) are translated into this tree at the
boundary where they occur (``raise ... from exc``); the HTTP layer maps the tree to status
codes in one place (``liveblog.api.problems``). A class without a status of its own below
has its nearest ancestor's (the most specific class along the MRO wins), so a new
``DomainError`` is a 4xx as soon as it exists; only ``StoreError`` and its subclasses are
the server's fault (5xx), and the root's 500 is for an error nobody classified::

    LiveblogError                   raised on purpose, but classified nowhere   (500)
    ├── DomainError                 a command breaks a rule of the newsroom     (422)
    │   ├── NotFound                unknown story or update                     (404)
    │   │   ├── StoryNotFound
    │   │   ├── UpdateNotFound
    │   │   ├── WebhookNotFound
    │   │   ├── SubmissionNotFound
    │   │   ├── MediaNotFound
    │   │   └── ScheduleNotFound
    │   ├── Conflict                the story is not in a state that allows it  (409)
    │   │   ├── StoryAlreadyExists
    │   │   ├── StoryIsClosed
    │   │   ├── InvalidTransition
    │   │   ├── UpdateIsRetracted
    │   │   ├── AlreadyRetracted
    │   │   ├── UpdateIsRedacted
    │   │   ├── AlreadyRedacted
    │   │   ├── SubmissionNotPending
    │   │   ├── ScheduleNotPending
    │   │   └── ScheduleNotDue
    │   ├── RuleViolation           the command itself is not acceptable        (422)
    │   │   ├── NothingToChange
    │   │   ├── NoteRequired
    │   │   ├── ImageUnresolved
    │   │   └── PublishAtNotInFuture
    │   ├── RevisionMismatch        If-Match no longer holds                    (412)
    │   └── NotTheSubmitter         only a submission's submitter may withdraw it (403)
    ├── ConcurrencyError            another writer appended first (retried)     (409)
    ├── IdempotencyKeyReused        same Idempotency-Key, different request     (422)
    ├── InvalidInput                a cursor or parameter that cannot be used   (422)
    │   ├── InvalidCursor
    │   ├── InvalidImage            an upload that is not a usable image
    │   ├── UnknownMedia            a media id or media URL never uploaded here
    │   ├── ForeignImage            a Markdown image not from liveblog's media
    │   ├── UnsupportedMediaType    an upload of a type not accepted            (415)
    │   └── EmbedNotAllowed         an embed from a Mastodon instance not configured
    ├── BadRequest                  malformed JSON or a malformed header        (400)
    ├── PayloadTooLarge             a request body over the configured limit    (413)
    ├── AuthError                   the request may not be served to its sender (403)
    │   ├── Unauthenticated         missing, malformed, unknown or revoked token (401)
    │   └── Forbidden               the token's role may not do this            (403)
    ├── RateLimited                 too many writes or connections; retry later  (429)
    ├── FormatNotImplemented        oEmbed asked for a format other than JSON    (501)
    └── StoreError                  the database is missing, unmigrated or down (503)
        └── SchemaNotMigrated

``tests/test_errors.py`` checks that this tree lists every class, each under its parent,
with exactly the statuses ``liveblog.api.problems`` gives.

This module is pure: the domain imports it.
"""

from __future__ import annotations


class LiveblogError(Exception):
    """Base of every error liveblog raises on purpose.

    ``title`` is a short, stable summary of the kind of problem; ``detail`` (the message)
    explains this occurrence to a person.
    """

    title = "Liveblog error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class DomainError(LiveblogError):
    title = "Rule violated"


class NotFound(DomainError):
    title = "Not found"


class StoryNotFound(NotFound):
    title = "Story not found"


class UpdateNotFound(NotFound):
    title = "Update not found"


class WebhookNotFound(NotFound):
    title = "Webhook not found"


class SubmissionNotFound(NotFound):
    title = "Submission not found"


class MediaNotFound(NotFound):
    """No uploaded image with that id (or not in that width or type), or it was removed."""

    title = "Media not found"


class Conflict(DomainError):
    title = "Conflict with the story's current state"


class StoryAlreadyExists(Conflict):
    title = "Slug already taken"


class StoryIsClosed(Conflict):
    title = "Story is closed"


class InvalidTransition(Conflict):
    title = "Invalid status change"


class UpdateIsRetracted(Conflict):
    title = "Update is retracted"


class AlreadyRetracted(Conflict):
    title = "Update already retracted"


class UpdateIsRedacted(Conflict):
    """The update was removed for legal reasons: nothing may act on it any more."""

    title = "Update is redacted"


class AlreadyRedacted(Conflict):
    title = "Update already redacted"


class SubmissionNotPending(Conflict):
    """The submission was approved, rejected or withdrawn already (a second editor's approval)."""

    title = "Submission no longer pending"


class ScheduleNotFound(NotFound):
    title = "Scheduled item not found"


class ScheduleNotPending(Conflict):
    """The scheduled item was already published or cancelled: it can no longer change."""

    title = "Scheduled item no longer pending"


class ScheduleNotDue(Conflict):
    """The scheduler fired an item before its time (it was rescheduled meanwhile)."""

    title = "Scheduled item not due yet"


class RuleViolation(DomainError):
    title = "Unacceptable command"


class NothingToChange(RuleViolation):
    title = "Nothing to change"


class NoteRequired(RuleViolation):
    title = "Public note required"


class ImageUnresolved(RuleViolation):
    """An uploaded image (a media item with an ``id``) without its alt text or the facts the
    server records with it: never written through the application (the verifiers' check 7)."""

    title = "Image without its recorded facts"


class PublishAtNotInFuture(RuleViolation):
    title = "Publication time not in the future"


class RevisionMismatch(DomainError):
    """The resource changed since the client read it (a failed ``If-Match``)."""

    title = "Revision mismatch"

    def __init__(self, detail: str, *, current_revision: int) -> None:
        super().__init__(detail)
        self.current_revision = current_revision


class NotTheSubmitter(DomainError):
    """Someone other than a submission's submitter tried to withdraw it."""

    title = "Not your submission"


class ConcurrencyError(LiveblogError):
    """An append found the stream at another version than expected."""

    title = "Concurrent write"

    def __init__(self, stream: str, expected_version: int) -> None:
        super().__init__(
            f"stream {stream!r} is no longer at version {expected_version}; another write landed first"
        )
        self.stream = stream
        self.expected_version = expected_version


class IdempotencyKeyReused(LiveblogError):
    title = "Idempotency-Key reused for a different request"


class InvalidInput(LiveblogError):
    title = "Invalid input"


class InvalidCursor(InvalidInput):
    """A string that is not a change-feed cursor this server issued (422)."""


class InvalidImage(InvalidInput):
    """An upload that is empty, corrupt, not the format it claims, or a decompression bomb."""

    title = "Invalid image"


class UnknownMedia(InvalidInput):
    """An update names a media id (or a media URL) that was never uploaded to this server."""

    title = "Unknown media"


class ForeignImage(InvalidInput):
    """A Markdown image (``![alt](url)``) whose URL is not liveblog's own media."""

    title = "Image not from this server"


class UnsupportedMediaType(InvalidInput):
    """An upload that is not JPEG, PNG, WebP or GIF (SVG above all: it can carry script)."""

    title = "Unsupported media type"


class EmbedNotAllowed(InvalidInput):
    """A Mastodon post on an instance not in ``LIVEBLOG_MASTODON_INSTANCES`` (422): the pages'
    Content-Security-Policy could not let its frame load."""

    title = "Embed not allowed"


class BadRequest(LiveblogError):
    title = "Bad request"


class PayloadTooLarge(LiveblogError):
    title = "Request body too large"


class AuthError(LiveblogError):
    title = "Not allowed"


class Unauthenticated(AuthError):
    title = "Authentication required"


class Forbidden(AuthError):
    title = "Forbidden"


class RateLimited(LiveblogError):
    """Too many requests; ``retry_after`` says in how many seconds to try again."""

    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class FormatNotImplemented(LiveblogError):
    """oEmbed asked for a format this server does not serve (XML): 501, as its spec says."""

    title = "Format not implemented"


class StoreError(LiveblogError):
    title = "Storage unavailable"


class SchemaNotMigrated(StoreError):
    title = "Database not migrated"
