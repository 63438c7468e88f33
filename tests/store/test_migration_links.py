"""Migration 0005 on a database holding papers stored before it, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.store.engine import create_db_engine
from dailypapers.store.migrate import upgrade_database

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
# More than one batch of the migration (20,000 ids), so a batch boundary is crossed.
SNAPSHOT_PAPERS = 20_003

INSERT = sa.text(
    "INSERT INTO papers (paper_id, id_kind, title, title_key, abs_url, pdf_url, code_url,"
    " project_url, created_at, modified_at) VALUES (:paper_id, :id_kind, 'T', 't', :abs_url,"
    " :pdf_url, :code_url, :project_url, :now, :now)"
)


def _row(paper_id: str, id_kind: str = "arxiv", **links: str | None) -> dict[str, object]:
    values: dict[str, object] = dict.fromkeys(("abs_url", "pdf_url", "code_url", "project_url"))
    values |= {"paper_id": paper_id, "id_kind": id_kind, "now": NOW, **links}
    return values


def _links(engine: sa.Engine) -> dict[str, tuple[str | None, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT paper_id, abs_url, pdf_url, code_url, project_url FROM papers")
        ).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def test_upgrade_to_0005_links_arxiv_papers_and_clears_unsafe_links(settings: Settings) -> None:
    engine = create_db_engine(settings)
    upgrade_database(engine, "0004")
    snapshot = [_row(f"0704.{n:05d}") for n in range(SNAPSHOT_PAPERS)]
    others = [
        _row("2104.12255", abs_url="http://arxiv.org/abs/2104.12255v1", pdf_url=None),
        _row("2410.17243", abs_url="javascript:alert(1)", code_url=" JavaScript:alert(2)"),
        _row("astro-ph/0601001", project_url="  https://example.org/p  "),
        _row("10.1145/3292500", "doi", code_url="data:text/html,<b>", project_url="/relative"),
        _row("title:0123456789abcdef", "title", code_url="https://github.com/a/b"),
    ]
    with engine.begin() as conn:
        conn.execute(INSERT, snapshot + others)
    upgrade_database(engine, "0005")
    links = _links(engine)
    engine.dispose()
    arxiv = "https://arxiv.org/{}/{}"
    assert all(
        links[row["paper_id"]]  # type: ignore[index]
        == (arxiv.format("abs", row["paper_id"]), arxiv.format("pdf", row["paper_id"]), None, None)
        for row in snapshot
    )
    assert links["2104.12255"] == (
        "http://arxiv.org/abs/2104.12255v1",  # a source's own link is kept
        arxiv.format("pdf", "2104.12255"),
        None,
        None,
    )
    assert links["2410.17243"] == (
        arxiv.format("abs", "2410.17243"),
        arxiv.format("pdf", "2410.17243"),
        None,
        None,
    )
    assert links["astro-ph/0601001"] == (
        arxiv.format("abs", "astro-ph/0601001"),
        arxiv.format("pdf", "astro-ph/0601001"),
        None,
        "https://example.org/p",
    )
    assert links["10.1145/3292500"] == (None, None, None, None)
    assert links["title:0123456789abcdef"] == (None, None, "https://github.com/a/b", None)
