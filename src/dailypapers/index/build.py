"""Index services: build or update every search index, and report how far they have got."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.index.embed import embed_backlog, queue_for_model
from dailypapers.index.embeddings import Embedder, load_embedder
from dailypapers.index.keyword import KeywordState, Segments, update_keyword_index
from dailypapers.index.layout import IndexLayout
from dailypapers.index.vectors import (
    VectorState,
    embedded_papers,
    open_vector_directory,
    sync_from_store,
    update_ann,
)
from dailypapers.store.papers import count_papers
from dailypapers.store.vectors import count_backlog, count_vectors

# The HNSW graph takes in new chunks once this many vectors wait outside it (searched exactly
# until then), or a quarter of the graph's size when that is more: rewriting a large graph
# file for every 100,000 vectors would cost more than the embedding itself.
ANN_UPDATE_EVERY_VECTORS = 100_000
ANN_UPDATE_GROWTH = 0.25
# How often `index build` looks again at papers another worker holds.
CLAIMED_BY_OTHERS_POLL_S = 2.0


class Progress:
    """Hooks a build reports to (the CLI draws them as progress bars).

    Every call names its stage, and each stage says when it ends, so a caller can time each
    stage by itself.
    """

    def stage(self, name: str, total: int | None) -> None:
        """Stage `name` begins (or begins again) with `total` units of work (None: unknown)."""

    def advance(self, name: str, units: int) -> None:
        """`units` more units of stage `name` are done."""

    def done(self, name: str) -> None:
        """Stage `name` has ended."""


@dataclass(slots=True)
class BuildReport:
    keyword_indexed: int
    embedded: int  # papers embedded by this build
    vectors: int  # papers with a vector in this node's index, in all
    complete: bool


class IndexBusy(RuntimeError):
    """Another process holds the index writer lock."""


@dataclass(slots=True)
class SyncReport:
    """What a sync of this node's indexes with the database did."""

    keyword_indexed: int
    vectors_added: int
    vectors: int
    complete: bool


def sync_local_indexes(
    engine: sa.Engine,
    settings: Settings,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    wait: bool = True,
) -> SyncReport:
    """Bring this node's keyword index and vector index up to date with the database.

    Both are derived: the keyword index from the papers, the vector index from the vectors the
    workers stored (no model is loaded here). Safe to interrupt; the next run resumes. With
    `rebuild`, new versions are built from scratch beside the live ones and swapped in. Raises
    IndexBusy when `wait` is off and another process is writing this node's indexes.
    """
    layout = IndexLayout.under(settings.home)
    hooks = progress or Progress()
    with layout.writer_lock(wait=wait) as acquired:
        if not acquired:
            raise IndexBusy(f"another process is writing the indexes in {layout.root}")
        # One after the other: building the keyword index in a thread beside the graph was
        # measured slower at 2.8 M papers (1,118 s against 996 s): both use both cores.
        indexed = _sync_keyword_stage(engine, layout, rebuild, hooks)
        directory, state, finished, added = _sync_vector_stage(
            engine, layout, settings, rebuild, hooks, should_stop
        )
    unique = embedded_papers(directory, state)
    return SyncReport(indexed, added, unique, finished)


def _sync_keyword_stage(
    engine: sa.Engine, layout: IndexLayout, rebuild: bool, hooks: Progress
) -> int:
    name = "keyword index"
    try:
        return update_keyword_index(
            engine,
            layout,
            rebuild=rebuild,
            on_total=lambda total: hooks.stage(name, total),
            on_progress=functools.partial(hooks.advance, name),
            compact=True,  # a background or maintenance pass: it may rebuild (see keyword.py)
        )
    finally:
        hooks.done(name)


def _sync_vector_stage(
    engine: sa.Engine,
    layout: IndexLayout,
    settings: Settings,
    rebuild: bool,
    hooks: Progress,
    should_stop: Callable[[], bool] | None,
) -> tuple[Path, VectorState, bool, int]:
    """Copy the stored vectors this node lacks and fold them into its graph; returns the
    directory, its state, whether it caught up, and how many vector rows it added."""
    model = load_embedder(settings.embedding_model)  # its name only: nothing is loaded
    directory, state, live = open_vector_directory(layout, model, rebuild=rebuild)
    before = state.vectors
    graph = None  # kept between passes of a long copy, not read back from its file each time
    while True:
        try:
            finished = sync_from_store(
                engine,
                directory,
                state,
                on_total=lambda total: hooks.stage("vectors", total),
                on_progress=functools.partial(hooks.advance, "vectors"),
                should_stop=lambda: _should_pause(state, should_stop),
                chunk_rows=settings.embedding_chunk_rows,
            )
        finally:
            hooks.done("vectors")
        if state.chunks > state.ann_chunks:
            hooks.stage("vector index", None)
            try:
                graph = update_ann(directory, state, graph)
            finally:
                hooks.done("vector index")
        if finished or (should_stop and should_stop()):
            break
    if finished and not live:
        layout.publish("vectors", directory)
    return directory, state, finished, state.vectors - before


def build_indexes(
    engine: sa.Engine,
    settings: Settings,
    *,
    rebuild: bool = False,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    wait: bool = True,
) -> BuildReport:
    """`index build`: embed every waiting paper in this process, then sync this node's indexes.

    Embedding goes through the shared backlog, so a worker embedding at the same time takes
    other papers, never the same ones. Safe to interrupt at any point: the next run resumes.
    """
    hooks = progress or Progress()
    model = embedder or load_embedder(settings.embedding_model)
    queue_for_model(engine, model=model.name, now=datetime.now(UTC))
    hooks.stage("embedding", count_backlog(engine))
    advance = functools.partial(hooks.advance, "embedding")
    embedded = 0
    while True:
        report = embed_backlog(
            engine,
            model,
            batch_size=settings.embedding_batch_papers,
            lease_s=settings.embedding_lease_s,
            should_stop=should_stop,
            on_progress=advance,
        )
        embedded += report.embedded
        stopped = should_stop is not None and should_stop()
        # What is left is held by another worker (or one that died: its lease will end).
        if stopped or not report.finished or count_backlog(engine) == 0:
            break
        time.sleep(CLAIMED_BY_OTHERS_POLL_S)
    hooks.done("embedding")
    synced = sync_local_indexes(
        engine,
        settings,
        rebuild=rebuild,
        progress=hooks,
        should_stop=should_stop,
        wait=wait,
    )
    complete = count_backlog(engine) == 0 and synced.complete
    return BuildReport(synced.keyword_indexed, embedded, synced.vectors, complete)


def watch_indexes(
    engine: sa.Engine,
    settings: Settings,
    *,
    interval_s: float,
    should_stop: Callable[[], bool],
    embedder: Embedder | None = None,
    on_report: Callable[[BuildReport], None] | None = None,
) -> None:
    """Keep the indexes up to date until `should_stop`: a build pass, then a pause of
    `interval_s`. A pass is skipped while another process holds the writer lock."""
    model = embedder or load_embedder(settings.embedding_model)
    while not should_stop():
        try:
            report = build_indexes(
                engine, settings, embedder=model, should_stop=should_stop, wait=False
            )
        except IndexBusy:
            report = None
        if report is not None and on_report is not None:
            on_report(report)
        deadline = time.monotonic() + interval_s
        while not should_stop() and time.monotonic() < deadline:
            time.sleep(min(0.2, interval_s))


def sync_keyword_index(engine: sa.Engine, settings: Settings) -> int | None:
    """Index papers changed since the last sync; None when another process is writing the
    indexes (it will pick the changes up)."""
    layout = IndexLayout.under(settings.home)
    with layout.writer_lock(wait=False) as acquired:
        if not acquired:
            return None
        return update_keyword_index(engine, layout)


def _should_pause(state: VectorState, should_stop: Callable[[], bool] | None) -> bool:
    """Stop copying vectors to fold the new chunks into the graph, or when asked to stop."""
    outside_graph = state.vectors - state.ann_vectors
    threshold = max(ANN_UPDATE_EVERY_VECTORS, int(ANN_UPDATE_GROWTH * state.ann_vectors))
    return outside_graph >= threshold or bool(should_stop and should_stop())


@dataclass(slots=True)
class IndexStatus:
    papers: int
    keyword_documents: int
    keyword_segments: int
    keyword_deleted: int  # documents of changed or removed papers, dropped by the next rebuild
    keyword_synced_to: datetime | None
    model: str
    embedded: int  # papers with a vector by the model, in the database
    vectors: int  # papers with a vector in this node's index
    vectors_in_graph: int
    embedded_to: datetime | None
    changed_since_embedding: int  # papers waiting for a vector of their current text
    rebuilding: bool
    disk_bytes: int


def _disk_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def index_status(engine: sa.Engine, settings: Settings) -> IndexStatus:
    """How far the embeddings follow the papers, and this node's indexes the database."""
    layout = IndexLayout.under(settings.home)
    keyword_dir = layout.live("keyword")
    keyword = KeywordState.read(keyword_dir) if keyword_dir else None
    segments = Segments.of(keyword_dir) if keyword_dir else Segments()
    vectors_dir = layout.building("vectors") or layout.live("vectors")
    vectors = VectorState.read(vectors_dir) if vectors_dir else None
    model = load_embedder(settings.embedding_model).name
    return IndexStatus(
        papers=count_papers(engine),
        keyword_documents=keyword.documents if keyword else 0,
        keyword_segments=segments.count,
        keyword_deleted=segments.deleted,
        keyword_synced_to=keyword.watermark if keyword else None,
        model=model,
        embedded=count_vectors(engine, model=model),
        vectors=embedded_papers(vectors_dir, vectors) if vectors_dir and vectors else 0,
        vectors_in_graph=vectors.ann_vectors if vectors else 0,
        embedded_to=vectors.watermark if vectors else None,
        changed_since_embedding=count_backlog(engine),
        rebuilding=layout.building("vectors") is not None,
        disk_bytes=_disk_bytes(layout.root),
    )
