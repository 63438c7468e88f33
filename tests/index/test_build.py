"""Index builds: freshness, resuming after a crash, atomic swaps, no duplicates."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
import sqlalchemy as sa

from dailypapers.config import Settings, load_settings
from dailypapers.index import build
from dailypapers.index import keyword as keyword_index
from dailypapers.index import vectors as vector_index
from dailypapers.index.build import (
    Progress,
    build_indexes,
    index_status,
    sync_keyword_index,
    sync_local_indexes,
)
from dailypapers.index.embeddings import Embedder
from dailypapers.index.hnsw import hnsw_index
from dailypapers.index.layout import IndexLayout
from dailypapers.index.vectors import VectorState, embedded_papers
from dailypapers.search.service import Searcher
from dailypapers.store.engine import open_store
from dailypapers.store.schema import paper_vectors, papers
from dailypapers.store.vectors import count_backlog, count_vectors, store_vectors
from tests.search.conftest import import_files


class Crash(RuntimeError):
    """Stands for the process dying in the middle of a build."""


class CrashingEmbedder:
    """The real model, but the process 'dies' on the n-th batch it is given."""

    def __init__(self, inner: Embedder, crash_on_call: int) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimensions = inner.dimensions
        self.calls = 0
        self.crash_on_call = crash_on_call

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        if self.calls == self.crash_on_call:
            raise Crash("killed while embedding")
        return self.inner.encode(texts)


def _snapshot(shared_data: Path) -> Path:
    return shared_data / "kaggle-arxiv-snapshot" / "arxiv-metadata-oai-snapshot.sample200.json"


def _new_paper(tmp_path: Path, paper_id: str, title: str, abstract: str) -> Path:
    path = tmp_path / f"{paper_id}.jsonl"
    path.write_bytes(orjson.dumps({"id": paper_id, "title": title, "abstract": abstract}) + b"\n")
    return path


def _settings(tmp_path: Path, database_url: str | None = None, **extra: object) -> Settings:
    return load_settings({}, home=tmp_path / "home", database_url=database_url, **extra)


def test_imported_papers_are_keyword_searchable_at_once_then_semantically(
    settings: Settings, shared_data: Path, minilm: Embedder, tmp_path: Path
) -> None:
    engine = open_store(settings)
    import_files(engine, [_snapshot(shared_data)])
    build_indexes(engine, settings, embedder=minilm)
    searcher = Searcher(engine, settings, embedder=minilm)
    new = _new_paper(
        tmp_path,
        "2611.00001",
        "Zebrafish fin regeneration under microgravity",
        "We study how zebrafish regrow fins on the International Space Station.",
    )
    import_files(engine, [new], "generic")
    assert searcher.refresh() >= 1
    hits = searcher.search("zebrafish regeneration", mode="keyword").hits
    assert [hit.paper_id for hit in hits] == ["2611.00001"]
    # Not embedded yet: hybrid still finds it by keywords, semantic search cannot yet.
    assert "2611.00001" in [h.paper_id for h in searcher.search("zebrafish", mode="hybrid").hits]
    semantic = searcher.search("fish growing back fins in space", mode="semantic", limit=3)
    assert "2611.00001" not in [hit.paper_id for hit in semantic.hits]
    assert index_status(engine, settings).changed_since_embedding == 1
    build_indexes(engine, settings, embedder=minilm)
    semantic = searcher.search("fish growing back fins in space", mode="semantic", limit=3)
    assert semantic.hits[0].paper_id == "2611.00001"
    status = index_status(engine, settings)
    assert (status.papers, status.vectors, status.changed_since_embedding) == (201, 201, 0)
    assert status.keyword_documents == 201  # re-indexed papers replace their old documents
    engine.dispose()


def test_crash_mid_embedding_resumes_without_duplicates(
    shared_data: Path, minilm: Embedder, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, embedding_batch_papers=32)
    engine = open_store(settings)
    import_files(engine, [_snapshot(shared_data)])
    with pytest.raises(Crash):
        build_indexes(engine, settings, embedder=CrashingEmbedder(minilm, crash_on_call=3))
    # Two whole batches were stored in the database; the third went back to the backlog.
    assert count_vectors(engine, model=minilm.name) == 64
    assert count_backlog(engine) == 200 - 64
    sync_local_indexes(engine, settings)
    state = VectorState.read(_live_vectors(settings))
    assert state is not None and state.vectors == 64
    # Search works on what is there: keywords for all, meaning for the embedded part.
    searcher = Searcher(engine, settings, embedder=minilm)
    assert searcher.search("graph decompositions", mode="keyword").hits[0].paper_id == "0704.0002"
    assert searcher.search("black holes", mode="semantic").hits
    embedded_before = _embedded_at(engine)
    report = build_indexes(engine, settings, embedder=minilm)
    assert report.complete and report.embedded == 200 - 64
    state = VectorState.read(_live_vectors(settings))
    assert state is not None and (state.vectors, state.ann_vectors) == (200, 200)
    # Nothing stored before the crash was embedded again.
    after = _embedded_at(engine)
    assert all(after[paper_id] == when for paper_id, when in embedded_before.items())
    assert build_indexes(engine, settings, embedder=minilm).embedded == 0
    engine.dispose()


def _live_vectors(settings: Settings) -> Path:
    live = IndexLayout.under(settings.home).live("vectors")
    assert live is not None
    return live


def _embedded_at(engine: sa.Engine) -> dict[str, object]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(paper_vectors.c.paper_id, paper_vectors.c.embedded_at))
        return {str(paper_id): when for paper_id, when in rows}


def test_leftovers_of_a_crash_are_ignored_and_cleaned(
    shared_data: Path, minilm: Embedder, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    engine = open_store(settings)
    import_files(engine, [_snapshot(shared_data)])
    build_indexes(engine, settings, embedder=minilm)
    layout = IndexLayout.under(settings.home)
    vectors = layout.live("vectors")
    assert vectors is not None
    # What a crash at the worst moments leaves: a half-written keyword version, a chunk that
    # was never renamed into place, a torn graph file, a torn CURRENT.json temporary.
    (layout.root / "keyword-99").mkdir()
    (layout.root / "keyword-99" / "meta.json").write_text("{")
    (vectors / "chunk-000099.tmp").mkdir()
    (vectors / "chunk-000099.tmp" / "keys.npy").write_bytes(b"\x93NUMPY")
    (vectors / "ann.usearch.tmp").write_bytes(b"torn")
    (layout.root / ".CURRENT.json.tmp").write_text('{"keyword": "keyword-99"')
    searcher = Searcher(engine, settings, embedder=minilm)
    assert searcher.search("graph decompositions", mode="hybrid").hits[0].paper_id == "0704.0002"
    build_indexes(engine, settings, embedder=minilm, rebuild=True)
    assert not (layout.root / "keyword-99").exists()
    live = layout.live("keyword")
    assert live is not None and live.name != "keyword-1"
    assert searcher.search("graph decompositions", mode="hybrid").hits[0].paper_id == "0704.0002"
    engine.dispose()


def test_rebuild_keeps_serving_the_old_vectors_until_complete(
    shared_data: Path, minilm: Embedder, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, embedding_chunk_rows=50)
    engine = open_store(settings)
    import_files(engine, [_snapshot(shared_data)])
    build_indexes(engine, settings, embedder=minilm)
    layout = IndexLayout.under(settings.home)
    old = layout.live("vectors")
    chunks = iter(range(10))
    # A rebuild that stops after its first chunk (a process stopped part-way).
    sync_local_indexes(engine, settings, rebuild=True, should_stop=lambda: next(chunks) > 0)
    assert layout.live("vectors") == old  # the interrupted rebuild is not live
    building = layout.building("vectors")
    assert building is not None and building != old
    searcher = Searcher(engine, settings, embedder=minilm)
    assert len(searcher.search("black holes", mode="semantic", limit=100).hits) == 100
    sync_local_indexes(engine, settings)  # resumes the rebuild and publishes it
    assert layout.live("vectors") == building and old is not None and not old.exists()
    assert len(searcher.search("black holes", mode="semantic", limit=100).hits) == 100
    engine.dispose()


def test_a_node_without_its_index_folder_rebuilds_and_serves_the_same_results(
    shared_data: Path, minilm: Embedder, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    engine = open_store(settings)
    import_files(engine, [_snapshot(shared_data)])
    build_indexes(engine, settings, embedder=minilm)
    searcher = Searcher(engine, settings, embedder=minilm)
    queries = [("black holes", "hybrid"), ("graph decompositions", "keyword")]
    queries.append(("stellar evolution of massive stars", "semantic"))

    def results() -> list[list[tuple[str, float]]]:
        return [
            [(h.paper_id, round(h.score, 5)) for h in searcher.search(q, mode=m, limit=20).hits]
            for q, m in queries
        ]

    before = results()
    shutil.rmtree(settings.home / "index")
    searcher = Searcher(engine, settings, embedder=minilm)
    stages = StageLog()
    report = sync_local_indexes(engine, settings, progress=stages)  # every process's next sync
    assert (report.keyword_indexed, report.vectors) == (200, 200)
    assert results() == before
    # Each stage that began has ended, and the units it counted add up to the papers.
    assert stages.open == set()
    assert (stages.units["keyword index"], stages.units["vectors"]) == (200, 200)
    engine.dispose()


def test_a_long_copy_folds_vectors_into_the_graph_in_passes_and_ends_as_one_build(
    shared_data: Path, minilm: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node copying many vectors folds them into its graph every so often (searchable on
    the way) and keeps the graph in memory between passes: the graph file it ends with holds
    every paper once and answers as a graph built in one pass."""
    settings = _settings(tmp_path, embedding_chunk_rows=16)
    engine = open_store(settings)
    import_files(engine, [_snapshot(shared_data)])
    build_indexes(engine, settings, embedder=minilm)  # one pass: 200 < 100,000
    searcher = Searcher(engine, settings, embedder=minilm)
    queries = ["black holes", "stellar evolution of massive stars", "graph colouring"]

    def results() -> list[list[str]]:
        hits = [searcher.search(q, mode="semantic", limit=10).hits for q in queries]
        return [[hit.paper_id for hit in found] for found in hits]

    one_pass = results()
    shutil.rmtree(settings.home / "index")
    monkeypatch.setattr(build, "ANN_UPDATE_EVERY_VECTORS", 48)
    monkeypatch.setattr(build, "ANN_UPDATE_GROWTH", 0.0)
    stages = StageLog()
    report = sync_local_indexes(engine, settings, progress=stages)
    assert report.vectors == 200
    assert stages.passes["vector index"] == 5  # 48, 96, 144, 192, then the last 8
    directory = IndexLayout.under(settings.home).live("vectors")
    assert directory is not None
    state = VectorState.read(directory)
    assert state is not None and (state.ann_vectors, state.ann_chunks) == (200, state.chunks)
    graph = hnsw_index()(ndim=state.dimensions, metric="cos", dtype="i8")
    graph.load(str(directory / "ann.usearch"))
    keys, _ = vector_index.latest_hashes(directory, state.chunks)
    assert graph.size == 200 and bool(np.all(graph.contains(keys)))
    searcher = Searcher(engine, settings, embedder=minilm)
    assert results() == one_pass
    engine.dispose()


class StageLog(Progress):
    """Records each build stage: how often it began, what it counted, whether it ended."""

    def __init__(self) -> None:
        self.units: dict[str, int] = {}
        self.passes: dict[str, int] = {}
        self.open: set[str] = set()

    def stage(self, name: str, total: int | None) -> None:  # noqa: ARG002
        self.passes[name] = self.passes.get(name, 0) + 1
        self.open.add(name)

    def advance(self, name: str, units: int) -> None:
        assert name in self.open
        self.units[name] = self.units.get(name, 0) + units

    def done(self, name: str) -> None:
        self.open.discard(name)


class Cli:
    """`python -m dailypapers` as a real process, with its own data directory."""

    def __init__(self, home: Path, **environment: str) -> None:
        self.home = home
        self.environment = {**os.environ, "DAILYPAPERS_HOME": str(home), **environment}
        self.command = [sys.executable, "-m", "dailypapers", "-q"]

    def run(self, *args: str, timeout: int = 120) -> Any:
        done = subprocess.run(
            [*self.command, *args],
            env=self.environment,
            check=True,
            timeout=timeout,
            capture_output=True,
        )
        return orjson.loads(done.stdout) if "--json" in args else None

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [*self.command, *args],
            env=self.environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )


def test_killed_build_process_resumes(shared_data: Path, tmp_path: Path) -> None:
    cli = Cli(
        tmp_path / "home",
        DAILYPAPERS_EMBEDDING_BATCH_PAPERS="16",
        DAILYPAPERS_EMBEDDING_LEASE_S="3",
    )
    cli.run("import", str(_snapshot(shared_data)))
    build = cli.start("index", "build")
    deadline = time.monotonic() + 120
    while cli.run("index", "status", "--json")["embedded"] < 32 and time.monotonic() < deadline:
        time.sleep(0.2)
    build.send_signal(signal.SIGKILL)
    build.communicate(timeout=30)
    # The killed process's batch comes back once its lease ends (3 s here).
    report = cli.run("index", "build", "--json", timeout=300)
    assert report["complete"] and report["vectors"] == 200
    assert 0 < report["embedded"] < 200  # the batches stored before the kill were kept
    status = cli.run("index", "status", "--json")
    assert (status["changed_since_embedding"], status["embedded"]) == (0, 200)
    shutil.rmtree(cli.home)


def test_changed_text_is_embedded_again(
    settings: Settings, minilm: Embedder, tmp_path: Path
) -> None:
    engine = open_store(settings)
    first = _new_paper(tmp_path, "2611.00002", "Coral reefs", "Bleaching of coral reefs.")
    import_files(engine, [first])
    build_indexes(engine, settings, embedder=minilm)
    later = _new_paper(tmp_path, "2611.00002", "Volcanic ash", "Ash clouds and jet engines.")
    time.sleep(0.01)
    import_files(engine, [later], "generic")
    report = build_indexes(engine, settings, embedder=minilm)
    assert (report.embedded, report.vectors) == (1, 1)
    searcher = Searcher(engine, settings, embedder=minilm)
    hit = searcher.search("volcano eruption aviation", mode="semantic", limit=1).hits[0]
    assert hit.paper.title == "Volcanic ash" and hit.semantic_score and hit.semantic_score > 0.3
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from papers")).scalar_one() == 1
    engine.dispose()


def test_watch_embeds_new_papers_in_the_background_and_stops_on_sigterm(
    shared_data: Path, tmp_path: Path
) -> None:
    cli = Cli(tmp_path / "home")
    cli.run("import", str(_snapshot(shared_data)))
    watcher = cli.start("index", "watch", "--interval-s", "0.5")
    try:
        new = _new_paper(
            tmp_path,
            "2611.00003",
            "Bumblebee navigation by polarised light",
            "Bees find their way home using the polarisation of the sky.",
        )
        cli.run("import", str(new))
        found: list[str] = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and "2611.00003" not in found:
            time.sleep(1)
            if cli.run("index", "status", "--json")["vectors"] == 201:
                query = "insects orienting with skylight"
                hits = cli.run("search", query, "--mode", "semantic", "--limit", "3", "--json")
                found = [hit["id"] for hit in hits]
        assert "2611.00003" in found
    finally:
        watcher.send_signal(signal.SIGTERM)
        _, errors = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, errors.decode()[-2000:]


def test_keyword_sync_skips_a_settled_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keyword_index, "WATERMARK_OVERLAP", timedelta(seconds=0.5))
    settings = _settings(tmp_path)
    engine = open_store(settings)
    import_files(engine, [_new_paper(tmp_path, "2501.00001", "Alpha paper", "About alpha.")])
    assert sync_keyword_index(engine, settings) == 1
    # Right after a write the window may still receive late commits (a writer whose
    # transaction began earlier): it is read again. What it indexed then, unchanged since,
    # is not indexed again; a late commit is.
    assert sync_keyword_index(engine, settings) == 0
    import_files(engine, [_new_paper(tmp_path, "2501.00003", "Gamma paper", "About gamma.")])
    with engine.begin() as conn:
        stamp = sa.select(papers.c.modified_at).where(papers.c.paper_id == "2501.00001")
        late = sa.update(papers).where(papers.c.paper_id == "2501.00003")
        conn.execute(late.values(modified_at=conn.execute(stamp).scalar_one()))
    assert sync_keyword_index(engine, settings) == 1
    assert [h.paper_id for h in Searcher(engine, settings).search("gamma").hits] == ["2501.00003"]
    time.sleep(0.6)
    sync_keyword_index(engine, settings)  # finds it settled,
    assert sync_keyword_index(engine, settings) == 0  # and then nothing is read again.
    import_files(engine, [_new_paper(tmp_path, "2501.00002", "Beta paper", "About beta.")])
    assert sync_keyword_index(engine, settings) >= 1
    time.sleep(0.6)
    sync_keyword_index(engine, settings)
    assert sync_keyword_index(engine, settings) == 0
    # A paper changed later is indexed again, with no duplicate document.
    with engine.begin() as conn:
        conn.execute(
            sa.update(papers)
            .where(papers.c.paper_id == "2501.00001")
            .values(title="Alpha paper renamed", modified_at=datetime.now(UTC))
        )
    assert sync_keyword_index(engine, settings) >= 1
    hits = Searcher(engine, settings).search("alpha", mode="keyword").hits
    assert [h.paper.title for h in hits] == ["Alpha paper renamed"]
    engine.dispose()


def test_vector_sync_skips_a_settled_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node does not re-read the vectors of the overlap window on every pass once it has
    settled, and still picks up a vector written later (also one re-embedded in the window)."""
    monkeypatch.setattr(vector_index, "WATERMARK_OVERLAP", timedelta(seconds=0.5))
    settings = _settings(tmp_path)
    engine = open_store(settings)
    layout = IndexLayout.under(settings.home)
    model = "test-model@8"
    directory = layout.root / "vectors-test"
    directory.mkdir(parents=True)
    state = VectorState(model=model, dimensions=8)
    rng = np.random.default_rng(7)

    def write(paper_id: str, text_hash: int) -> None:
        vector = rng.standard_normal(8).astype(np.float32)
        store_vectors(
            engine,
            token="test",
            model=model,
            vectors=[(paper_id, text_hash, vector)],
            done=[],
            now=datetime.now(UTC),
        )

    def sync() -> int:
        read: list[int] = []
        assert vector_index.sync_from_store(engine, directory, state, on_total=read.append)
        return read[0]

    import_files(engine, [_new_paper(tmp_path, "2501.00001", "Alpha", "About alpha.")])
    import_files(engine, [_new_paper(tmp_path, "2501.00002", "Beta", "About beta.")])
    write("2501.00001", 1)
    assert sync() == 1
    assert sync() == 1  # the window may still receive late commits: read again...
    time.sleep(0.6)
    assert sync() == 1  # ...until a pass finds it settled,
    assert sync() == 0  # then nothing is read,
    assert state.is_current(engine)
    write("2501.00002", 2)  # and a new vector is.
    assert not state.is_current(engine)
    assert sync() >= 1
    time.sleep(0.6)
    sync()
    assert sync() == 0
    write("2501.00002", 3)  # the same paper embedded again (new text): read again
    assert sync() >= 1
    assert state.vectors == 3
    assert embedded_papers(directory, state) == 2
    engine.dispose()
