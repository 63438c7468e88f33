"""Paper links: every arXiv paper links to its abstract and PDF; only http(s) links are kept.

Revision ID: 0005
Revises: 0004

Papers imported from the arXiv snapshot or Hugging Face's daily lists had no abstract or PDF
link; the store now derives them from the id (`store.merge.derive_links`) and this fills them
in for the papers stored before. Links that are not http(s) (`javascript:`, relative) are
cleared first, as `store.merge.validate_record` now drops them on import. Both run in batches of
paper ids, so no statement holds the whole table. The downgrade keeps the links.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from dailypapers.ids import http_url

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BATCH_ROWS = 20_000
LINK_COLUMNS = ("abs_url", "pdf_url", "code_url", "project_url")


def upgrade() -> None:
    bind = op.get_bind()
    _clear_unsafe_links(bind)  # first, so an arXiv paper whose link is cleared gets arXiv's
    _fill_arxiv_links(bind)


def _fill_arxiv_links(bind: sa.Connection) -> None:
    missing = "id_kind = 'arxiv' AND (abs_url IS NULL OR pdf_url IS NULL)"
    select = sa.text(
        f"SELECT paper_id FROM papers WHERE {missing} AND paper_id > :after"
        f" ORDER BY paper_id LIMIT {BATCH_ROWS}"
    )
    update = sa.text(
        "UPDATE papers SET"
        " abs_url = COALESCE(abs_url, 'https://arxiv.org/abs/' || paper_id),"
        " pdf_url = COALESCE(pdf_url, 'https://arxiv.org/pdf/' || paper_id)"
        f" WHERE {missing} AND paper_id >= :first AND paper_id <= :last"
    )
    after = ""
    while batch := bind.execute(select, {"after": after}).scalars().all():
        bind.execute(update, {"first": batch[0], "last": batch[-1]})
        after = batch[-1]


def _clear_unsafe_links(bind: sa.Connection) -> None:
    # SQL finds the candidates (any link not starting with http:// or https://); Python's
    # `http_url`, the check imports use, decides what each becomes.
    not_http = " OR ".join(
        f"({name} IS NOT NULL AND NOT (lower({name}) LIKE 'http://%'"
        f" OR lower({name}) LIKE 'https://%'))"
        for name in LINK_COLUMNS
    )
    select = sa.text(
        f"SELECT paper_id, {', '.join(LINK_COLUMNS)} FROM papers"
        f" WHERE paper_id > :after AND ({not_http}) ORDER BY paper_id LIMIT {BATCH_ROWS}"
    )
    assignments = ", ".join(f"{name} = :{name}" for name in LINK_COLUMNS)
    update = sa.text(f"UPDATE papers SET {assignments} WHERE paper_id = :paper_id")
    after = ""
    while batch := bind.execute(select, {"after": after}).all():
        params: list[dict[str, Any]] = [
            {"paper_id": row[0]}
            | {n: http_url(v) for n, v in zip(LINK_COLUMNS, row[1:], strict=True)}
            for row in batch
        ]
        bind.execute(update, params)
        after = batch[-1][0]


def downgrade() -> None:
    pass
