"""Count the SQL statements a piece of work sends, to pin how many a command costs.

Statements sent through SQLAlchemy are seen with its ``before_cursor_execute`` event; those
that :mod:`liveblog.store.driver` sends on the driver directly, through its statement hook.
Transaction control (``BEGIN``/``COMMIT``/``ROLLBACK``) is counted apart, in ``transactions``.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy import event

from liveblog.store import driver
from liveblog.store.database import Database


class StatementCounter:
    """``with StatementCounter(database) as counter: ...``, then ``counter.count``."""

    def __init__(self, database: Database) -> None:
        self.engine = database.engine.sync_engine
        self.statements: list[str] = []
        self.transactions: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(" ".join(statement.split()))

    def _driver_statement(self, statement: str) -> None:
        self.statements.append(" ".join(statement.split()))

    def _begin(self, _conn: Any) -> None:
        self.transactions.append("BEGIN")

    def _commit(self, _conn: Any) -> None:
        self.transactions.append("COMMIT")

    def _rollback(self, _conn: Any) -> None:
        self.transactions.append("ROLLBACK")

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "begin", self._begin)
        event.listen(self.engine, "commit", self._commit)
        event.listen(self.engine, "rollback", self._rollback)
        driver.STATEMENT_HOOKS.append(self._driver_statement)
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _tb: TracebackType | None
    ) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "begin", self._begin)
        event.remove(self.engine, "commit", self._commit)
        event.remove(self.engine, "rollback", self._rollback)
        driver.STATEMENT_HOOKS.remove(self._driver_statement)
