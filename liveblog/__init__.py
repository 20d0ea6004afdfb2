"""liveblog: an event-sourced backend for live news coverage."""

__version__ = "0.1.0"
