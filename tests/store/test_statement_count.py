"""How many SQL statements a post costs, pinned, so that a regression shows.

Counted with :class:`tests.sql_count.StatementCounter` (SQLAlchemy's events plus the
driver's hook) for a post whose token the process has already seen (the common case).
PostgreSQL: the write lock, the read of events after the cached head, the event's INSERT,
and one batch with every read-model row, the token's confirmation and the NOTIFY.
SQLite (`BEGIN IMMEDIATE` is its lock; no NOTIFY, no batch statement): each table's rows are
one statement.
"""

from __future__ import annotations

import httpx

from liveblog.store.database import Database
from tests.sql_count import StatementCounter

STORY = "/api/v1/stories/counted"
EXPECTED = {"postgresql": 4, "sqlite": 9}


async def test_a_post_costs_a_pinned_number_of_statements(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database, backend: str
) -> None:
    opened = await client.post(
        "/api/v1/stories", json={"title": "Counted", "slug": "counted", "publish": True}, headers=editor
    )
    assert opened.status_code == 201, opened.text
    first = await client.post(f"{STORY}/updates", json={"body": "warm"}, headers=editor)
    assert first.status_code == 201, first.text
    with StatementCounter(database) as counter:
        posted = await client.post(f"{STORY}/updates", json={"body": "counted"}, headers=editor)
    assert posted.status_code == 201, posted.text
    assert counter.count == EXPECTED[backend], "\n".join(counter.statements)
    # With an Idempotency-Key: one more statement (its lookup); the record rides in the batch.
    with StatementCounter(database) as counter:
        keyed = await client.post(
            f"{STORY}/updates", json={"body": "keyed"}, headers={**editor, "Idempotency-Key": "count-1"}
        )
    assert keyed.status_code == 201, keyed.text
    assert counter.count == EXPECTED[backend] + 1 + (backend == "sqlite"), "\n".join(counter.statements)
    assert counter.transactions.count("COMMIT") == 1
