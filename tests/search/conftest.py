"""A small real corpus, imported and indexed once per module: the 200-paper arXiv snapshot
sample (authors, categories, dates) plus SciFact abstracts that the first test queries need."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from dailypapers.config import Settings, load_settings
from dailypapers.index.build import build_indexes
from dailypapers.index.embeddings import Embedder
from dailypapers.ingest.files import ImportOptions, import_paths
from dailypapers.search.service import Searcher
from dailypapers.store.engine import open_store

SCIFACT_QUERIES = 20


@dataclass
class SciFactSample:
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    corpus: Path


@pytest.fixture(scope="session")
def scifact_sample(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> SciFactSample:
    """The first test queries, their relevant abstracts, and 150 other abstracts."""
    root = shared_data / "scifact"
    queries = {
        row["_id"]: row["text"]
        for row in map(orjson.loads, (root / "queries.jsonl").read_bytes().splitlines())
    }
    qrels: dict[str, dict[str, int]] = {}
    for line in (root / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        query_id, doc_id, score = line.strip().split("\t")[:3]
        if len(qrels) < SCIFACT_QUERIES or query_id in qrels:
            qrels.setdefault(query_id, {})[doc_id] = int(score)
    wanted = {doc for relevant in qrels.values() for doc in relevant}
    lines = (root / "corpus.jsonl").read_bytes().splitlines()
    keep = [line for line in lines if orjson.loads(line)["_id"] in wanted] + lines[:150]
    corpus = tmp_path_factory.mktemp("scifact") / "corpus.jsonl"
    corpus.write_bytes(b"\n".join(dict.fromkeys(keep)) + b"\n")
    return SciFactSample({q: queries[q] for q in qrels}, qrels, corpus)


def import_files(engine: sa.Engine, paths: list[Path], fmt: str = "auto") -> None:
    options = ImportOptions(fmt, datetime(2026, 11, 23, tzinfo=UTC).date(), 500)
    summary = import_paths(engine, paths, options, now=datetime.now(UTC))
    assert summary.failed == 0, summary.failures[:3]


@dataclass
class Corpus:
    settings: Settings
    engine: sa.Engine
    searcher: Searcher


@pytest.fixture(scope="module")
def corpus(
    shared_data: Path,
    scifact_sample: SciFactSample,
    minilm: Embedder,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Corpus]:
    settings = load_settings({}, home=tmp_path_factory.mktemp("search") / "home")
    engine = open_store(settings)
    snapshot = shared_data / "kaggle-arxiv-snapshot" / "arxiv-metadata-oai-snapshot.sample200.json"
    import_files(engine, [snapshot])
    import_files(engine, [scifact_sample.corpus], "generic")
    build_indexes(engine, settings, embedder=minilm)
    yield Corpus(settings, engine, Searcher(engine, settings, embedder=minilm))
    engine.dispose()
