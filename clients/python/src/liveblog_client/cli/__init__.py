"""The ``liveblog-client`` command line; see :mod:`liveblog_client.cli.base` for its options."""

from liveblog_client.cli import auditing, newsroom, reading, scheduling
from liveblog_client.cli.base import main

__all__ = ["auditing", "main", "newsroom", "reading", "scheduling"]
