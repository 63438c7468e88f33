"""Pages: authors, categories, code links, trends.

Revision ID: 0009
Revises: 0008

Creates `paper_authors` (one row per author of a paper with the name's matching key,
`ids.author_key`) and fills it from the stored author lists; fills the code and project links
that stored comments and abstracts give (`store.text_links`) where a paper has none. Both run
in batches of paper ids, so no statement holds the whole table. The downgrade drops the table
and keeps the links.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

from dailypapers.store import schema
from dailypapers.store.papers import author_rows
from dailypapers.store.text_links import find_code_url, find_project_url

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BATCH_ROWS = 20_000


def upgrade() -> None:
    bind = op.get_bind()
    schema.metadata.create_all(bind, tables=[schema.paper_authors])
    select = sa.text(
        "SELECT paper_id, authors, comments, abstract, code_url, project_url FROM papers"
        f" WHERE paper_id > :after ORDER BY paper_id LIMIT {BATCH_ROWS}"
    )
    update = sa.text(
        "UPDATE papers SET code_url = :code_url, project_url = :project_url"
        " WHERE paper_id = :paper_id"
    )
    after = ""
    while batch := bind.execute(select, {"after": after}).all():
        rows = author_rows((row[0], orjson.loads(row[1])) for row in batch)
        if rows:
            bind.execute(sa.insert(schema.paper_authors), rows)
        links = [found for row in batch if (found := _text_links(row))]
        if links:
            bind.execute(update, links)
        after = batch[-1][0]


def _text_links(row: Sequence[Any]) -> dict[str, str | None] | None:
    """The paper's links with the empty ones filled from its text; None when none is found."""
    paper_id, _, comments, abstract, code_url, project_url = row
    texts = (comments, abstract)
    found_code = None if code_url else find_code_url(texts)
    found_project = None if project_url else find_project_url(texts)
    if found_code is None and found_project is None:
        return None
    return {
        "paper_id": paper_id,
        "code_url": code_url or found_code,
        "project_url": project_url or found_project,
    }


def downgrade() -> None:
    bind = op.get_bind()
    schema.metadata.drop_all(bind, tables=[schema.paper_authors])
