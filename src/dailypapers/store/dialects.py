"""The dialect's INSERT, for ON CONFLICT clauses (SQLite and PostgreSQL spell them alike)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def conflict_insert(bind: sa.Engine | sa.Connection, table: sa.Table) -> postgresql.Insert:
    """`INSERT INTO table` that takes `.on_conflict_do_nothing()` / `.on_conflict_do_update()`."""
    if bind.dialect.name == "postgresql":
        return postgresql.insert(table)
    # SQLite's Insert has the same ON CONFLICT methods and arguments.
    statement: postgresql.Insert = sqlite.insert(table)  # type: ignore[assignment]
    return statement
