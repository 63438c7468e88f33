"""The paper store on SQLite and on a real PostgreSQL server: dedupe, merge, failures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

from dailypapers.ingest.files import ImportOptions, import_paths
from dailypapers.models import PaperRecord, PaperVersion, SourceName
from dailypapers.store.changes import Removal, list_removals
from dailypapers.store.papers import LocatedRecord, count_papers, get_paper, upsert_papers
from dailypapers.store.schema import paper_categories

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
V1 = datetime(2021, 4, 26, 9, 0, tzinfo=UTC)
V2 = datetime(2021, 6, 1, 9, 0, tzinfo=UTC)


def arxiv_record(**overrides: object) -> PaperRecord:
    values: dict[str, object] = {
        "source": SourceName.ARXIV_OAI,
        "paper_id": "2104.12255",
        "title": "Deep  Learning for Everything",
        "abstract": "We do everything with deep learning.",
        "authors": ["Ada Lovelace", "Alan Turing"],
        "categories": ["cs.LG", "stat.ML"],
        "versions": [PaperVersion(1, V1)],
        "published": V1,
        "updated": V1,
        "abs_url": "https://arxiv.org/abs/2104.12255",
    }
    values.update(overrides)
    return PaperRecord(**values)  # type: ignore[arg-type]


def located(*records: PaperRecord) -> list[LocatedRecord]:
    return [LocatedRecord(r, "test.jsonl", f"line {n}") for n, r in enumerate(records, 1)]


def test_round_trip_keeps_every_field(engine: sa.Engine) -> None:
    summary = upsert_papers(engine, located(arxiv_record(doi="10.1/x", upvotes=3)), now=NOW)
    assert (summary.imported, summary.updated, summary.failed) == (1, 0, 0)
    paper = get_paper(engine, paper_id="https://arxiv.org/abs/2104.12255v1")
    assert paper is not None
    assert paper.paper_id == "2104.12255"
    assert paper.title == "Deep  Learning for Everything"
    assert paper.authors == ["Ada Lovelace", "Alan Turing"]
    assert paper.author_count == 2
    assert paper.categories == ["cs.LG", "stat.ML"]
    assert paper.primary_category == "cs.LG"
    assert paper.versions == [PaperVersion(1, V1)]
    assert paper.published == V1 and paper.published.tzinfo is not None
    assert paper.doi == "10.1/x"
    assert paper.upvotes == 3
    assert paper.sources == ["arxiv-oai"]


def test_reimport_changes_nothing(engine: sa.Engine) -> None:
    upsert_papers(engine, located(arxiv_record()), now=NOW)
    again = upsert_papers(engine, located(arxiv_record()), now=datetime(2027, 1, 1, tzinfo=UTC))
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 1)
    assert count_papers(engine) == 1
    paper = get_paper(engine, paper_id="2104.12255")
    assert paper is not None and paper.modified_at == NOW


def test_newer_version_updates_and_older_does_not_roll_back(engine: sa.Engine) -> None:
    upsert_papers(engine, located(arxiv_record()), now=NOW)
    newer = arxiv_record(title="Deep Learning for Most Things", versions=[PaperVersion(2, V2)])
    summary = upsert_papers(engine, located(newer), now=NOW)
    assert summary.updated == 1
    stale = arxiv_record(title="Stale title", versions=[PaperVersion(1, V1)])
    upsert_papers(engine, located(stale), now=NOW)
    paper = get_paper(engine, paper_id="2104.12255v2")
    assert paper is not None
    assert paper.title == "Deep Learning for Most Things"
    assert [v.number for v in paper.versions] == [1, 2]
    assert paper.latest_version == 2


def test_record_without_id_matches_by_normalised_title(engine: sa.Engine) -> None:
    upsert_papers(engine, located(arxiv_record()), now=NOW)
    seed = PaperRecord(
        source=SourceName.SEED_PAGE,
        title="deep learning for everything!",
        abstract="a worse copy of the abstract",
        author_count=2,
        upvotes=12,
        daily_date=date(2026, 5, 1),
    )
    summary = upsert_papers(engine, located(seed), now=NOW)
    assert summary.updated == 1 and count_papers(engine) == 1
    paper = get_paper(engine, paper_id="2104.12255")
    assert paper is not None
    # The saved page fills community fields but never overwrites arXiv's text.
    assert paper.abstract == "We do everything with deep learning."
    assert paper.upvotes == 12
    assert paper.daily_date == date(2026, 5, 1)
    assert paper.sources == ["arxiv-oai", "seed-page"]


def test_title_only_paper_is_rekeyed_when_its_arxiv_id_arrives(engine: sa.Engine) -> None:
    seed = PaperRecord(source=SourceName.SEED_PAGE, title="Deep Learning for Everything", upvotes=5)
    upsert_papers(engine, located(seed), now=NOW)
    [title_only] = _all_ids(engine)
    assert title_only.startswith("title:")
    summary = upsert_papers(engine, located(arxiv_record()), now=NOW)
    assert (summary.imported, summary.updated) == (0, 1)
    assert _all_ids(engine) == ["2104.12255"]
    paper = get_paper(engine, paper_id="2104.12255")
    assert paper is not None and paper.upvotes == 5 and paper.categories == ["cs.LG", "stat.ML"]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(paper_categories.c.paper_id)).scalars().all()
    assert set(rows) == {"2104.12255"}


def test_a_rekey_records_the_old_id_as_removed(engine: sa.Engine) -> None:
    seed = PaperRecord(source=SourceName.SEED_PAGE, title="Deep Learning for Everything", upvotes=5)
    upsert_papers(engine, located(seed), now=NOW)
    [title_only] = _all_ids(engine)
    assert list_removals(engine, since=None) == []
    later = datetime(2026, 11, 24, tzinfo=UTC)
    upsert_papers(engine, located(arxiv_record()), now=later)
    # The index updaters follow modified_at and these rows; both change in the rekey's transaction.
    assert list_removals(engine, since=NOW) == [Removal(title_only, later, stored=False)]
    paper = get_paper(engine, paper_id="2104.12255")
    assert paper is not None and paper.modified_at == later


def test_duplicates_inside_one_batch_become_one_paper(engine: sa.Engine) -> None:
    records = [arxiv_record(), arxiv_record(upvotes=4), arxiv_record()]
    summary = upsert_papers(engine, located(*records), now=NOW)
    assert (summary.imported, summary.updated, summary.unchanged) == (1, 1, 1)
    assert count_papers(engine) == 1


def test_bad_record_fails_alone_and_changes_nothing_stored(engine: sa.Engine) -> None:
    upsert_papers(engine, located(arxiv_record()), now=NOW)
    bad_title = arxiv_record(title="   ")
    too_long = arxiv_record(paper_id="x" * 300, title="Another paper")
    good = arxiv_record(paper_id="2301.00001", title="A good paper")
    summary = upsert_papers(engine, located(bad_title, too_long, good), now=NOW)
    assert (summary.imported, summary.failed) == (1, 2)
    assert [f.location for f in summary.failures] == ["line 1", "line 2"]
    assert "title is empty" in summary.failures[0].reason
    assert "id: 300 characters" in summary.failures[1].reason
    paper = get_paper(engine, paper_id="2104.12255")
    assert paper is not None and paper.title == "Deep  Learning for Everything"


def test_nul_characters_are_dropped_not_fatal(engine: sa.Engine) -> None:
    record = arxiv_record(abstract="before\x00after", comments="x\x00")
    summary = upsert_papers(engine, located(record), now=NOW)
    assert summary.imported == 1
    paper = get_paper(engine, paper_id="2104.12255")
    assert paper is not None and paper.abstract == "beforeafter"


def _all_ids(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT paper_id FROM papers ORDER BY 1")).scalars())


def test_doi_record_with_an_arxiv_papers_title_enriches_it(engine: sa.Engine) -> None:
    upsert_papers(engine, located(arxiv_record()), now=NOW)
    published = PaperRecord(
        source=SourceName.BIBTEX,
        paper_id="10.1145/3292500",
        doi="10.1145/3292500",
        title="Deep learning for everything",
        journal_ref="Proc. KDD 2021",
    )
    summary = upsert_papers(engine, located(published), now=NOW)
    assert (summary.imported, summary.updated) == (0, 1)
    assert _all_ids(engine) == ["2104.12255"]
    paper = get_paper(engine, paper_id="2104.12255")
    assert paper is not None
    assert (paper.doi, paper.journal_ref) == ("10.1145/3292500", "Proc. KDD 2021")
    assert paper.title == "Deep  Learning for Everything"
    again = upsert_papers(engine, located(published), now=NOW)
    assert again.unchanged == 1 and count_papers(engine) == 1


def test_doi_record_does_not_claim_a_paper_with_another_doi(engine: sa.Engine) -> None:
    upsert_papers(engine, located(arxiv_record(doi="10.1/other")), now=NOW)
    published = PaperRecord(
        source=SourceName.BIBTEX, paper_id="10.1145/3292500", title="Deep Learning for Everything"
    )
    upsert_papers(engine, located(published), now=NOW)
    assert _all_ids(engine) == ["10.1145/3292500", "2104.12255"]


def test_arxiv_papers_link_to_their_abstract_and_pdf_from_any_source(
    engine: sa.Engine, shared_data: Path
) -> None:
    # Neither the arXiv snapshot nor Hugging Face's daily list gives links; the id implies them.
    inputs = [
        shared_data / "kaggle-arxiv-snapshot" / "arxiv-metadata-oai-snapshot.sample200.json",
        shared_data / "hf-daily-papers" / "daily_papers-2024-10-25.first4.json",
    ]
    options = ImportOptions("auto", date(2024, 10, 25), 500)
    summary = import_paths(engine, inputs, options, now=NOW)
    assert summary.failed == 0 and summary.imported == 204
    for paper_id in ("0704.0001", "2410.17243"):
        paper = get_paper(engine, paper_id=paper_id)
        assert paper is not None
        assert paper.abs_url == f"https://arxiv.org/abs/{paper_id}"
        assert paper.pdf_url == f"https://arxiv.org/pdf/{paper_id}"
    upsert_papers(
        engine, located(arxiv_record(abs_url="http://arxiv.org/abs/2104.12255v1")), now=NOW
    )
    paper = get_paper(engine, paper_id="2104.12255")
    assert paper is not None and paper.abs_url == "http://arxiv.org/abs/2104.12255v1"  # as given
    assert paper.pdf_url == "https://arxiv.org/pdf/2104.12255"


def test_papers_without_an_arxiv_id_get_no_arxiv_links(engine: sa.Engine) -> None:
    doi = PaperRecord(source=SourceName.BIBTEX, paper_id="10.1145/3292500", title="A KDD paper")
    untitled = PaperRecord(source=SourceName.SEED_PAGE, title="Known only by its title")
    upsert_papers(engine, located(doi, untitled), now=NOW)
    for paper_id in _all_ids(engine):
        paper = get_paper(engine, paper_id=paper_id)
        assert paper is not None and (paper.abs_url, paper.pdf_url) == (None, None)


def test_links_other_than_http_are_dropped_and_the_paper_kept(engine: sa.Engine) -> None:
    record = arxiv_record(
        abs_url="javascript:alert(1)",
        code_url=" JavaScript:alert(document.cookie)",
        project_url="  https://example.org/project  ",
    )
    summary = upsert_papers(engine, located(record), now=NOW)
    assert (summary.imported, summary.failed) == (1, 0)
    paper = get_paper(engine, paper_id="2104.12255")
    assert paper is not None and paper.title == "Deep  Learning for Everything"
    assert paper.code_url is None
    assert paper.project_url == "https://example.org/project"
    assert paper.abs_url == "https://arxiv.org/abs/2104.12255"  # arXiv's, not the script
