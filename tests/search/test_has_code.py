"""`has:code` in every search mode, on the real arXiv cs listing of 2025-03-18 (about a quarter
of its papers name their code in the comments or abstract)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dailypapers.config import load_settings
from dailypapers.index.build import build_indexes
from dailypapers.index.embeddings import Embedder
from dailypapers.models import SearchMode
from dailypapers.search.query import Filters
from dailypapers.search.service import Searcher
from dailypapers.store.engine import open_store
from tests.search.conftest import import_files


@pytest.fixture(scope="module")
def searcher(
    shared_data: Path, minilm: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Searcher]:
    settings = load_settings({}, home=tmp_path_factory.mktemp("has-code") / "home")
    engine = open_store(settings)
    import_files(engine, [shared_data / "arxiv-cs-2025" / "2025-03-18.jsonl"])
    build_indexes(engine, settings, embedder=minilm)
    yield Searcher(engine, settings, embedder=minilm)
    engine.dispose()


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_has_code_keeps_only_papers_with_a_code_link(searcher: Searcher, mode: SearchMode) -> None:
    everything = searcher.search("image segmentation", mode=mode, limit=50).hits
    assert any(hit.paper.code_url is None for hit in everything)
    hits = searcher.search("image segmentation has:code", mode=mode, limit=50).hits
    assert hits and all(hit.paper.code_url for hit in hits)
    if mode == "keyword":  # the same ranking, less the papers without code
        with_code = [h.paper_id for h in everything if h.paper.code_url]
        assert [h.paper_id for h in hits][: len(with_code)] == with_code
    only_code = Filters(has_code=True)
    as_parameter = searcher.search("image segmentation", mode=mode, limit=50, filters=only_code)
    assert [h.paper_id for h in as_parameter.hits] == [h.paper_id for h in hits]


def test_has_code_alone_lists_every_paper_with_code(searcher: Searcher) -> None:
    results = searcher.search("has:code", mode="keyword", limit=100)
    assert results.total == 84
    assert all(hit.paper.code_url for hit in results.hits)
