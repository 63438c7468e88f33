"""Harvest checkpoints: where an interrupted harvest resumes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from dailypapers.store.schema import harvest_checkpoints


def get_checkpoint(engine: sa.Engine, *, key: str) -> str | None:
    """The stored value for `key`, or None."""
    query = sa.select(harvest_checkpoints.c.value).where(harvest_checkpoints.c.key == key)
    with engine.connect() as conn:
        return conn.execute(query).scalar_one_or_none()


def set_checkpoint(engine: sa.Engine, *, key: str, value: str | None, now: datetime) -> None:
    """Store `value` under `key`; None removes the checkpoint."""
    with engine.begin() as conn:
        conn.execute(sa.delete(harvest_checkpoints).where(harvest_checkpoints.c.key == key))
        if value is not None:
            conn.execute(
                sa.insert(harvest_checkpoints).values(key=key, value=value, updated_at=now)
            )
