"""An independent verifier of the liveblog audit format (docs/audit-format.md).

It shares no code with the server's ``liveblog audit verify``: both follow the format's text,
so each checks the other. :func:`~liveblog_client.audit.verifier.verify` is the entry point.
"""
