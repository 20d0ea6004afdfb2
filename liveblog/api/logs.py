"""Secrets never reach the logs: tokens in query strings and Authorization headers are redacted.

Tokens belong in the ``Authorization`` header, but a client may put one in a URL
(``?token=``, ``?access_token=``), and uvicorn's access log (``uvicorn.access``) and its
WebSocket log lines (``uvicorn.error``) print the path with its query string. A filter on
those loggers, and on liveblog's own, rewrites each record before any handler formats it:
the values of ``token``/``access_token`` query parameters, ``Bearer`` credentials and
anything shaped like a liveblog token (``lb_…``) become ``[redacted]``.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
# A logger's filters see only the records logged on it, not its children's: each by name.
LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn", "liveblog", "liveblog.api", "liveblog.live")
_PATTERNS = (
    # token=… / access_token=… in a query string (any case, percent-encoded names too)
    (re.compile(r"(?i)((?:^|[?&;\s\"'])(?:access[_%]?(?:5f)?)?token=)[^&;\s\"']*"), rf"\g<1>{REDACTED}"),
    (re.compile(r"(?i)(\bbearer\s+)[^\s\"',;]+"), rf"\g<1>{REDACTED}"),
    (re.compile(r"\blb_[A-Za-z0-9_-]{8,}"), REDACTED),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            # Its formatter unpacks the arguments (client, method, path, version, status).
            record.args = tuple(redact(v) if isinstance(v, str) else v for v in record.args)
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a malformed record: logging reports it as it would have
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install_redaction() -> None:
    """Put :class:`RedactSecrets` on the loggers that print requests (once each)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactSecrets) for existing in logger.filters):
            logger.addFilter(RedactSecrets())
