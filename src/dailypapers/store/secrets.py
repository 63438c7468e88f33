"""Site secrets: random keys made once, stored in the database, shared by every node."""

from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa

from dailypapers.store.dialects import conflict_insert
from dailypapers.store.schema import site_secrets


def get_or_create_secret(engine: sa.Engine, *, name: str, now: datetime) -> str:
    """The secret called `name`, made on first use; two nodes asking at once get the same one."""
    insert = (
        conflict_insert(engine, site_secrets)
        .values(name=name, value=secrets.token_urlsafe(48), created_at=now)
        .on_conflict_do_nothing()
    )
    query = sa.select(site_secrets.c.value).where(site_secrets.c.name == name)
    with engine.begin() as conn:
        value = conn.execute(query).scalar_one_or_none()
        if value is None:
            conn.execute(insert)
            value = conn.execute(query).scalar_one()
    return str(value)
