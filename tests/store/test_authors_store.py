"""Authors in the store, on SQLite and PostgreSQL: one row per byline name with its matching key,
written with the paper; author pages' papers, co-authors, categories and other spellings."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

from dailypapers.ids import author_key
from dailypapers.ingest.files import ImportOptions, import_paths
from dailypapers.models import PaperRecord, SourceName
from dailypapers.store.authors import author_summary, list_author_papers, other_spellings
from dailypapers.store.lists import ListFilter, count_categories, list_period_papers
from dailypapers.store.papers import LocatedRecord, upsert_papers
from dailypapers.store.schema import paper_authors

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def record(paper_id: str, authors: list[str], **fields: object) -> PaperRecord:
    values: dict[str, object] = {
        "source": SourceName.ARXIV_OAI,
        "paper_id": paper_id,
        "title": f"Paper {paper_id}",
        "abstract": "An abstract.",
        "authors": authors,
        "categories": ["cs.LG"],
        "published": datetime(2025, 1, int(paper_id[-2:]), tzinfo=UTC),
    }
    values.update(fields)
    return PaperRecord(**values)  # type: ignore[arg-type]


def store(engine: sa.Engine, *records: PaperRecord) -> None:
    items = [LocatedRecord(r, "test", f"record {n}") for n, r in enumerate(records, 1)]
    summary = upsert_papers(engine, items, now=NOW)
    assert summary.failed == 0, summary.failures


def bylines(engine: sa.Engine) -> dict[str, list[tuple[str, str]]]:
    query = sa.select(paper_authors).order_by(paper_authors.c.paper_id, paper_authors.c.position)
    found: dict[str, list[tuple[str, str]]] = {}
    with engine.connect() as conn:
        for row in conn.execute(query).mappings():
            found.setdefault(row["paper_id"], []).append((row["name"], row["name_key"]))
    return found


def test_real_papers_get_one_author_row_per_byline_name(
    engine: sa.Engine, shared_data: Path, tmp_path: Path
) -> None:
    listing = shared_data / "arxiv-cs-2025" / "2025-03-18.jsonl"
    lines = listing.read_text(encoding="utf-8").splitlines()[:40]
    extract = tmp_path / "listing.jsonl"
    extract.write_text("\n".join(lines) + "\n", encoding="utf-8")
    options = ImportOptions(format="auto", reference_date=date(2025, 3, 18), batch_size=500)
    import_paths(engine, [extract], options, now=NOW)
    expected = {}
    for line in lines:
        item = json.loads(line)
        expected[item["id"]] = [(name, author_key(name)) for name in item["authors"]]
    assert bylines(engine) == expected
    first = json.loads(lines[0])
    key = author_key(first["authors"][0])
    papers, total = list_author_papers(engine, key=key, limit=10)
    assert first["id"] in [p.paper_id for p in papers] and total == len(papers)


def test_a_changed_byline_is_rewritten_and_an_unchanged_one_kept(engine: sa.Engine) -> None:
    store(engine, record("2501.00001", ["José García", "Ada Lovelace"]))
    store(engine, record("2501.00001", ["José García", "Ada Lovelace"], abstract="New text."))
    assert bylines(engine)["2501.00001"] == [
        ("José García", "jose garcia"),
        ("Ada Lovelace", "ada lovelace"),
    ]
    store(engine, record("2501.00001", ["Ada Lovelace"], source=SourceName.ARXIV_API))
    assert bylines(engine)["2501.00001"] == [("Ada Lovelace", "ada lovelace")]


def test_a_title_only_paper_keeps_its_authors_when_rekeyed(engine: sa.Engine) -> None:
    title_only = record("2501.00002", ["Grace Hopper"], source=SourceName.BIBTEX)
    title_only.paper_id = None
    store(engine, title_only)
    assert [k.startswith("title:") for k in bylines(engine)] == [True]
    store(engine, record("2501.00002", ["Grace Hopper"]))
    assert bylines(engine) == {"2501.00002": [("Grace Hopper", "grace hopper")]}


def test_spellings_differing_in_accents_case_and_dots_are_one_author(engine: sa.Engine) -> None:
    store(
        engine,
        record("2501.00003", ["José García-López", "B Two"], categories=["cs.CV", "cs.LG"]),
        record("2501.00004", ["JOSE GARCIA LOPEZ", "B Two", "C Three"]),
        record("2501.00005", ["Jose Garcia Lopez", "C Three"]),
    )
    summary = author_summary(engine, key=author_key("josé garcía lópez"))
    assert summary is not None
    assert summary.papers == 3
    assert set(summary.spellings) == {"José García-López", "JOSE GARCIA LOPEZ", "Jose Garcia Lopez"}
    assert [(c.name, c.papers) for c in summary.coauthors] == [("B Two", 2), ("C Three", 2)]
    assert [(c.name, c.papers) for c in summary.categories] == [("cs.LG", 3), ("cs.CV", 1)]
    papers, total = list_author_papers(engine, key="jose garcia lopez", limit=2)
    assert total == 3
    assert [p.paper_id for p in papers] == ["2501.00005", "2501.00004"]  # newest first
    assert author_summary(engine, key="nobody here") is None


def test_an_initial_and_a_full_name_are_linked_only_when_the_papers_agree(
    engine: sa.Engine,
) -> None:
    store(
        engine,
        record("2501.00010", ["Alice Smith", "Bob Jones", "Carl Wu"]),
        record("2501.00011", ["A. Smith", "Bob Jones", "Carl Wu", "Dan Ek"]),
        # One shared co-author is not enough: Ann Smith wrote with Bob Jones only.
        record("2501.00012", ["A Smith", "Bob Jones"], title="Another A Smith"),
        record("2501.00013", ["Ann Smith", "Bob Jones", "Eve Oh"]),
        # Alicia is not Alice, whoever they wrote with.
        record("2501.00014", ["Alicia Smith", "Bob Jones", "Carl Wu"]),
    )
    assert [(s.name, s.shared_coauthors) for s in other_spellings(engine, key="alice smith")] == [
        ("A. Smith", 2)
    ]
    # "A. Smith" may be Alice or Alicia: both wrote with two of A. Smith's co-authors.
    assert [s.name for s in other_spellings(engine, key="a smith")] == [
        "Alice Smith",
        "Alicia Smith",
    ]
    # On one byline together, two names are two people.
    store(engine, record("2501.00015", ["Alice Smith", "A. Smith", "Zed Q"]))
    assert other_spellings(engine, key="alice smith") == []


def test_category_lists_keep_only_that_category_and_code_filter_keeps_linked_papers(
    engine: sa.Engine,
) -> None:
    day = datetime(2025, 1, 20, tzinfo=UTC)
    store(
        engine,
        record("2501.00020", ["A B"], categories=["cs.CV"], published=day),
        record(
            "2501.00021",
            ["A B"],
            categories=["cs.LG", "cs.CV"],
            published=day,
            comments="Code: https://github.com/owner/repo.",
        ),
        record("2501.00022", ["A B"], categories=["cs.LG"], published=day),
    )
    start, end = date(2025, 1, 20), date(2025, 1, 21)

    def listed(only: ListFilter) -> list[str]:
        found, total = list_period_papers(engine, start=start, end=end, limit=10, only=only)
        assert total == len(found)
        return sorted(p.paper_id for p in found)

    assert listed(ListFilter(category="cs.CV")) == ["2501.00020", "2501.00021"]
    assert listed(ListFilter(with_code=True)) == ["2501.00021"]
    assert listed(ListFilter(category="cs.LG", with_code=True)) == ["2501.00021"]
    assert listed(ListFilter(category="cs.cv")) == []  # codes are case-sensitive, as arXiv's
    assert count_categories(engine) == [("cs.CV", 2), ("cs.LG", 2)]
