"""Issue "Hardening" item 8: a token put in a query string never lands in the access log.

A real ``liveblog serve`` with its access log on (``LIVEBLOG_LOG_LEVEL=info``) is sent a
token as ``?token=``, ``?access_token=`` (HTTP and WebSocket) and in the Authorization
header; its log output then names every request but none of the secrets.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
from websockets.asyncio.client import connect

from liveblog.api.logs import RedactSecrets, install_redaction
from tests.browser.conftest import LiveServer, live_server  # noqa: F401  (fixture)

API = "/api/v1"


def test_tokens_in_query_strings_are_redacted_in_the_access_log(live_server: LiveServer) -> None:  # noqa: F811
    live_server.environment["LIVEBLOG_LOG_LEVEL"] = "info"
    live_server.cli("migrate")
    secret = live_server.cli("token", "create", "--role", "editor", "--name", "Logged Editor").strip()
    assert secret.startswith("lb_")
    live_server.start()
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        assert http.get(f"{API}/stories", params={"token": secret}).status_code == 200
        assert http.get(f"{API}/stories", params={"after": "1", "access_token": secret}).status_code == 200
        assert http.get(f"{API}/stories", params={"ACCESS_TOKEN": "OTHER-SECRET-1"}).status_code == 200
        assert http.get(f"{API}/keys", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
        assert http.get("/stories/nowhere", params={"token": "OTHER-SECRET-2"}).status_code == 404

    async def socket() -> None:
        url = f"ws://127.0.0.1:{live_server.port}{API}/stories/nowhere/live?after=0&token={secret}"
        async with connect(url) as connection:
            await asyncio.wait_for(connection.wait_closed(), 10)

    asyncio.run(socket())
    live_server.stop()
    log = live_server.log.read_text()
    assert f"{API}/stories?token=[redacted]" in log, log
    assert f"{API}/stories?after=1&access_token=[redacted]" in log, log
    assert "/stories/nowhere?token=[redacted]" in log, log
    assert "/live?after=0&token=[redacted]" in log, log  # uvicorn's WebSocket line
    for leaked in (secret, secret[3:20], "OTHER-SECRET-1", "OTHER-SECRET-2"):
        assert leaked not in log, f"{leaked!r} is in the server's log"


def test_liveblogs_own_log_lines_are_redacted_too() -> None:
    install_redaction()
    install_redaction()  # once per logger, however many apps are built
    logger = logging.getLogger("liveblog.api")
    assert sum(isinstance(f, RedactSecrets) for f in logging.getLogger("liveblog").filters) == 1
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    handler = Keep()
    logging.getLogger("liveblog").addHandler(handler)
    try:
        logging.getLogger("liveblog").error("failed: %s", "Authorization: Bearer lb_0123456789abcdef")
        logger.error("GET /x?token=%s", "s3cret")
    finally:
        logging.getLogger("liveblog").removeHandler(handler)
    assert records[0] == "failed: Authorization: Bearer [redacted]"
    assert records[1] == "GET /x?token=[redacted]"
