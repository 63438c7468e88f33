"""Migration 0009 on a database holding papers stored before it, on both databases: every
byline gets its author rows, and code links come from stored comments and abstracts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import orjson
import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.ids import author_key
from dailypapers.store.engine import create_db_engine
from dailypapers.store.migrate import upgrade_database
from dailypapers.store.text_links import find_code_url

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
# More than one batch of the migration (20,000 ids), so a batch boundary is crossed.
FILLER_PAPERS = 20_003
INSERT = sa.text(
    "INSERT INTO papers (paper_id, id_kind, title, title_key, abstract, authors, comments,"
    " code_url, project_url, created_at, modified_at) VALUES (:paper_id, 'arxiv', 'T', 't',"
    " :abstract, :authors, :comments, :code_url, :project_url, :now, :now)"
)


def _row(paper_id: str, authors: list[str], **fields: str | None) -> dict[str, object]:
    values: dict[str, object] = {"abstract": "", "comments": None, "code_url": None}
    values |= {"project_url": None, "paper_id": paper_id, "now": NOW}
    values |= {"authors": orjson.dumps(authors).decode(), **fields}
    return values


def test_upgrade_to_0009_fills_author_rows_and_code_links(
    settings: Settings, shared_data: Path
) -> None:
    listing = shared_data / "arxiv-cs-2025" / "2025-03-18.jsonl"
    real = [json.loads(line) for line in listing.read_text(encoding="utf-8").splitlines()]
    real = list({item["id"]: item for item in real}.values())
    rows = [
        _row(item["id"], item["authors"], abstract=item["summary"], comments=item["comment"])
        for item in real
    ]
    rows += [_row(f"0704.{n:05d}", ["Filler Person", "—"]) for n in range(FILLER_PAPERS)]
    # A link a source gave is kept even where the text names another.
    rows.append(
        _row(
            "2410.00001",
            ["Hf Person"],
            abstract="Code: https://github.com/from/text",
            code_url="https://github.com/from/hugging-face",
        )
    )
    engine = create_db_engine(settings)
    upgrade_database(engine, "0008")
    with engine.begin() as conn:
        conn.execute(INSERT, rows)
    upgrade_database(engine, "0009")
    with engine.connect() as conn:
        authors = conn.execute(
            sa.text("SELECT paper_id, position, name, name_key FROM paper_authors")
        ).all()
        links = dict(conn.execute(sa.text("SELECT paper_id, code_url FROM papers")).all())
        projects = dict(conn.execute(sa.text("SELECT paper_id, project_url FROM papers")).all())
    engine.dispose()

    expected = {
        (item["id"], position, name, author_key(name))
        for item in real
        for position, name in enumerate(item["authors"])
    }
    expected |= {
        (f"0704.{n:05d}", 0, "Filler Person", "filler person") for n in range(FILLER_PAPERS)
    }
    expected.add(("2410.00001", 0, "Hf Person", "hf person"))
    assert set(authors) == expected  # "—" has no letters: no key, no row
    assert links["2503.11781"] == "https://github.com/gosha20777/cmKAN"
    assert links["2503.12418"] == "https://github.com/xielaobanyy/causal-imt"
    assert links["2503.11731"] is None
    assert links["2410.00001"] == "https://github.com/from/hugging-face"
    assert projects["2503.12052"] == "https://human-tailor.github.com"
    # Each real paper gets what an import would give it (84 of these 328 name their code).
    assert {item["id"]: links[item["id"]] for item in real} == {
        item["id"]: find_code_url((item["comment"], item["summary"])) for item in real
    }
    assert sum(1 for item in real if links[item["id"]]) == 84
