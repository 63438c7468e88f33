"""The keyword index follows the store: re-keyed papers, removed ids, format changes."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
import tantivy

from dailypapers.config import Settings, load_settings
from dailypapers.index import keyword as keyword_index
from dailypapers.index.build import (
    build_indexes,
    index_status,
    sync_keyword_index,
    sync_local_indexes,
)
from dailypapers.index.embeddings import Embedder
from dailypapers.index.keys import paper_key
from dailypapers.index.layout import IndexLayout, write_json_atomic
from dailypapers.ingest.files import ImportOptions, import_paths
from dailypapers.search.service import Searcher, SearchUnavailable
from dailypapers.store.engine import open_store
from dailypapers.store.schema import paper_removals, papers

SEED_PAGE = "000_1b131961594781c7.txt"
TITLE = "Routing Matters in MoE: Scaling Diffusion Transformers with Explicit Routing Guidance"
ARXIV_ID = "2510.24711"


def _import(engine: sa.Engine, path: Path) -> None:
    options = ImportOptions("auto", date(2024, 10, 25), 500)
    summary = import_paths(engine, [path], options, now=datetime.now(UTC))
    assert summary.failed == 0, summary.failures[:3]


def _arxiv_record(tmp_path: Path) -> Path:
    """The saved page's first paper again, now with its arXiv id (as arXiv's own records)."""
    path = tmp_path / "arxiv.jsonl"
    record = {"id": ARXIV_ID, "title": TITLE, "abstract": "Mixture-of-Experts for DiTs."}
    path.write_bytes(orjson.dumps(record) + b"\n")
    return path


def _title_only_id(engine: sa.Engine) -> str:
    query = sa.select(papers.c.paper_id).where(papers.c.title == TITLE)
    with engine.connect() as conn:
        paper_id = str(conn.execute(query).scalar_one())
    assert paper_id.startswith("title:")
    return paper_id


def test_a_rekeyed_paper_leaves_no_old_document(
    settings: Settings, seeds_dir: Path, tmp_path: Path
) -> None:
    engine = open_store(settings)
    _import(engine, seeds_dir / SEED_PAGE)
    old_id = _title_only_id(engine)
    sync_keyword_index(engine, settings)
    _import(engine, _arxiv_record(tmp_path))
    sync_keyword_index(engine, settings)
    status = index_status(engine, settings)
    assert status.papers == status.keyword_documents == 38
    searcher = Searcher(engine, settings)
    hits = searcher.search('"explicit routing guidance"', mode="keyword").hits
    assert [hit.paper_id for hit in hits] == [ARXIV_ID]
    keyword = searcher.keyword_index()
    assert keyword.paper_ids_for([paper_key(old_id)]) == {}
    engine.dispose()


def test_an_index_built_after_the_rekey_agrees_too(
    sqlite_settings: Settings, seeds_dir: Path, tmp_path: Path
) -> None:
    engine = open_store(sqlite_settings)
    _import(engine, seeds_dir / SEED_PAGE)
    _import(engine, _arxiv_record(tmp_path))
    sync_keyword_index(engine, sqlite_settings)  # a fresh build reads the removals too
    sync_keyword_index(engine, sqlite_settings)
    status = index_status(engine, sqlite_settings)
    assert status.papers == status.keyword_documents == 38
    engine.dispose()


def test_an_id_stored_again_keeps_its_document(sqlite_settings: Settings, tmp_path: Path) -> None:
    engine = open_store(sqlite_settings)
    _import(engine, _arxiv_record(tmp_path))
    sync_keyword_index(engine, sqlite_settings)
    with engine.begin() as conn:  # removed once, then stored again under the same id
        conn.execute(sa.insert(paper_removals).values(paper_id=ARXIV_ID, removed_at=_now()))
    sync_keyword_index(engine, sqlite_settings)
    hits = Searcher(engine, sqlite_settings).search("routing", mode="keyword").hits
    assert [hit.paper_id for hit in hits] == [ARXIV_ID]
    engine.dispose()


def _now() -> datetime:
    return datetime.now(UTC)


def test_semantic_search_never_returns_the_old_id(
    sqlite_settings: Settings, seeds_dir: Path, tmp_path: Path, minilm: Embedder
) -> None:
    engine = open_store(sqlite_settings)
    _import(engine, seeds_dir / SEED_PAGE)
    old_id = _title_only_id(engine)
    build_indexes(engine, sqlite_settings, embedder=minilm)  # the old id has a vector
    _import(engine, _arxiv_record(tmp_path))
    build_indexes(engine, sqlite_settings, embedder=minilm)
    searcher = Searcher(engine, sqlite_settings, embedder=minilm)
    for mode in ("semantic", "hybrid"):
        ids = [h.paper_id for h in searcher.search(TITLE, mode=mode, limit=38).hits]
        assert ARXIV_ID in ids and old_id not in ids, mode
    neighbours = [hit.paper_id for hit in searcher.similar(ARXIV_ID, limit=37)]
    assert old_id not in neighbours and ARXIV_ID not in neighbours
    engine.dispose()


def test_a_settled_sync_after_a_rekey_reads_nothing_again(
    tmp_path: Path, seeds_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keyword_index, "WATERMARK_OVERLAP", timedelta(seconds=0.5))
    settings = load_settings({}, home=tmp_path / "home")
    engine = open_store(settings)
    _import(engine, seeds_dir / SEED_PAGE)
    sync_keyword_index(engine, settings)
    _import(engine, _arxiv_record(tmp_path))
    assert sync_keyword_index(engine, settings) >= 1
    time.sleep(0.6)
    # The window is read once more; what it indexed before, unchanged since, is not again.
    assert sync_keyword_index(engine, settings) == 0
    assert sync_keyword_index(engine, settings) == 0
    # A removal alone (no paper changed with it) is still noticed.
    old_id = "title:0000000000000000"
    with engine.begin() as conn:
        conn.execute(sa.insert(paper_removals).values(paper_id=old_id, removed_at=_now()))
    layout = IndexLayout.under(settings.home)
    live = layout.live("keyword")
    assert live is not None
    state = keyword_index.KeywordState.read(live)
    assert state is not None and not state.is_current(engine)
    sync_keyword_index(engine, settings)
    time.sleep(0.6)
    sync_keyword_index(engine, settings)
    assert sync_keyword_index(engine, settings) == 0
    status = index_status(engine, settings)
    assert status.papers == status.keyword_documents == 38
    engine.dispose()


def _format_2_index(directory: Path, paper_id: str) -> None:
    """A keyword index as release format 2 wrote it (no `words` field)."""
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("key", stored=False, indexed=True, fast=True)
    builder.add_text_field("paper_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("title", tokenizer_name="paper_en", index_option="freq")
    builder.add_text_field("body", tokenizer_name="paper_en")
    builder.add_text_field("authors", tokenizer_name="person")
    builder.add_text_field("categories", tokenizer_name="category", index_option="basic")
    builder.add_date_field("published", indexed=True, fast=True)
    index = tantivy.Index(builder.build(), path=str(directory))
    index.register_tokenizer("paper_en", keyword_index.text_analyzer())
    index.register_tokenizer("person", keyword_index.person_analyzer())
    index.register_tokenizer("category", keyword_index.category_analyzer())
    writer = index.writer()
    document = tantivy.Document()
    document.add_unsigned("key", paper_key(paper_id))
    document.add_text("paper_id", paper_id)
    document.add_text("body", TITLE)
    writer.add_document(document)
    writer.commit()
    writer.wait_merging_threads()
    state = {"format": 2, "watermark": _now().isoformat(), "documents": 1, "settled": True}
    write_json_atomic(directory / keyword_index.STATE_FILE, {**state, "window_rows": 1})


def test_an_index_of_an_older_format_is_rebuilt_not_opened(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    engine = open_store(sqlite_settings)
    _import(engine, _arxiv_record(tmp_path))
    layout = IndexLayout.under(sqlite_settings.home)
    old = layout.new_version("keyword")
    _format_2_index(old, ARXIV_ID)
    layout.publish("keyword", old)
    searcher = Searcher(engine, sqlite_settings)
    # Opening it with this release's schema fails in tantivy: say what happens instead.
    with pytest.raises(SearchUnavailable, match="older release"):
        searcher.search("routing", mode="keyword")
    assert sync_keyword_index(engine, sqlite_settings) == 1
    live = layout.live("keyword")
    assert live is not None and live != old and not old.exists()
    hits = searcher.search('"explicit routing"', mode="keyword").hits
    assert [hit.paper_id for hit in hits] == [ARXIV_ID]
    assert index_status(engine, sqlite_settings).keyword_documents == 1
    engine.dispose()


def test_an_index_holding_many_deleted_documents_is_rebuilt(
    tmp_path: Path, seeds_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keyword_index, "COMPACT_DELETED_MIN", 5)
    settings = load_settings({}, home=tmp_path / "home")
    engine = open_store(settings)
    _import(engine, seeds_dir / SEED_PAGE)
    assert sync_keyword_index(engine, settings) == 38  # a fresh build: nothing deleted
    layout = IndexLayout.under(settings.home)
    first = layout.live("keyword")
    assert first is not None and keyword_index.Segments.of(first).deleted == 0
    searcher = Searcher(engine, settings)
    queries = ["diffusion", "routing experts", '"language models"', "transformers -video"]

    def ranked() -> list[list[tuple[str, float]]]:
        found = [searcher.search(q, mode="keyword").hits for q in queries]
        return [[(hit.paper_id, round(hit.score, 4)) for hit in hits] for hits in found]

    before = ranked()
    # Twelve papers change, stamped by a writer whose clock runs a minute ahead.
    with engine.begin() as conn:
        ids = conn.execute(sa.select(papers.c.paper_id).order_by(papers.c.paper_id).limit(12))
        later = _now() + timedelta(minutes=1)
        conn.execute(
            sa.update(papers)
            .where(papers.c.paper_id.in_([row[0] for row in ids]))
            .values(modified_at=later)
        )
    # The sync reads them and, again, the window before them: the import's 38 papers, 26 of
    # them indexed as they are. Each changed paper's old document stays, deleted.
    assert sync_keyword_index(engine, settings) == 12
    # 12 deleted of 50, unless a segment of the fresh build (written on two threads) held only
    # changed papers: tantivy drops a segment with nothing left in it.
    held = keyword_index.Segments.of(first)
    assert held.documents - held.deleted == 38 and held.worth_compacting
    status = index_status(engine, settings)
    assert (status.keyword_documents, status.keyword_deleted) == (38, held.deleted)
    assert ranked() != before  # BM25's statistics count the deleted documents
    # About a quarter of what it holds is deleted (over COMPACT_DELETED_SHARE). A sync that
    # someone waits on (a search, an import) leaves it; a background pass rebuilds it.
    assert sync_keyword_index(engine, settings) == 0  # the window again: nothing new in it
    assert layout.live("keyword") == first
    assert sync_local_indexes(engine, settings).keyword_indexed == 38
    live = layout.live("keyword")
    assert live is not None and live != first and not first.exists()
    assert keyword_index.Segments.of(live) == keyword_index.Segments(1, 38, 0)
    status = index_status(engine, settings)
    assert status.papers == status.keyword_documents == 38
    assert (status.keyword_segments, status.keyword_deleted) == (1, 0)
    # Rebuilt, the ranking and its scores are as before the deleted documents.
    after = ranked()
    assert after == before and all(after)
    engine.dispose()
