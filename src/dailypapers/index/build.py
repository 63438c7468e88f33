"""Index services: build or update every search index, and report how far they have got."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.index.embeddings import Embedder, document_text, load_embedder
from dailypapers.index.keyword import KeywordState, update_keyword_index
from dailypapers.index.layout import IndexLayout
from dailypapers.index.vectors import (
    WATERMARK_OVERLAP,
    VectorState,
    embed_pending,
    embedded_papers,
    latest_hashes,
    open_vector_directory,
    text_hash,
    update_ann,
)
from dailypapers.store.changes import iter_changed_papers, iter_paper_ids
from dailypapers.store.papers import count_papers

# The HNSW graph takes in new chunks once this many vectors wait outside it (searched exactly
# until then), or a quarter of the graph's size when that is more: rewriting a large graph
# file for every 100,000 vectors would cost more than the embedding itself.
ANN_UPDATE_EVERY_VECTORS = 100_000
ANN_UPDATE_GROWTH = 0.25


class Progress:
    """Hooks a build reports to (the CLI draws them as progress bars)."""

    def stage(self, name: str, total: int | None) -> None:
        """A new stage begins with `total` units of work (None when unknown)."""

    def advance(self, units: int) -> None:
        """`units` more units of the current stage are done."""


@dataclass(slots=True)
class BuildReport:
    keyword_indexed: int
    embedded: int  # texts embedded by this build
    vectors: int  # papers with a vector, in all
    complete: bool


class IndexBusy(RuntimeError):
    """Another process holds the index writer lock."""


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
    """Bring the keyword index, then the embeddings and their HNSW graph, up to date.

    Safe to interrupt at any point: the next run resumes. Raises IndexBusy when `wait` is off
    and another process is writing the indexes.
    """
    layout = IndexLayout.under(settings.home)
    hooks = progress or Progress()
    with layout.writer_lock(wait=wait) as acquired:
        if not acquired:
            raise IndexBusy(f"another process is writing the indexes in {layout.root}")
        indexed = update_keyword_index(
            engine,
            layout,
            rebuild=rebuild,
            on_total=lambda total: hooks.stage("keyword index", total),
            on_progress=hooks.advance,
        )
        model = embedder or load_embedder(settings.embedding_model)
        directory, state, live = open_vector_directory(layout, model, rebuild=rebuild)
        before = state.vectors
        while True:
            finished = embed_pending(
                engine,
                directory,
                state,
                model,
                on_total=lambda total: hooks.stage("embedding", total),
                on_progress=hooks.advance,
                should_stop=lambda: _should_pause(state, should_stop),
                chunk_rows=settings.embedding_chunk_rows,
            )
            if state.chunks > state.ann_chunks:
                hooks.stage("vector index", None)
                update_ann(directory, state)
            if finished or (should_stop and should_stop()):
                break
        if finished and not live:
            layout.publish("vectors", directory)
    unique = embedded_papers(directory, state)
    return BuildReport(indexed, state.vectors - before, unique, finished)


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
    """Stop embedding to fold the new chunks into the graph, or when asked to stop."""
    outside_graph = state.vectors - state.ann_vectors
    threshold = max(ANN_UPDATE_EVERY_VECTORS, int(ANN_UPDATE_GROWTH * state.ann_vectors))
    return outside_graph >= threshold or bool(should_stop and should_stop())


@dataclass(slots=True)
class IndexStatus:
    papers: int
    keyword_documents: int
    keyword_synced_to: datetime | None
    model: str | None
    vectors: int
    vectors_in_graph: int
    embedded_to: datetime | None
    changed_since_embedding: int  # stored papers without a vector of their current text
    rebuilding: bool
    disk_bytes: int


def _disk_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def _keys_of(paper_ids: Sequence[str]) -> np.ndarray:
    """`paper_key` of each id, in bulk (the same blake2b digest, without a call per id)."""
    digest = b"".join(hashlib.blake2b(pid.encode(), digest_size=8).digest() for pid in paper_ids)
    return np.frombuffer(digest, "<u8").astype(np.uint64) >> np.uint64(1)


def _not_embedded(engine: sa.Engine, directory: Path | None, state: VectorState | None) -> int:
    """Stored papers without a vector of their current text.

    Every stored id is checked for a vector (an id is hashed in under a microsecond, so 2.8 M
    papers take a few seconds); the text of the papers changed since the embedding watermark
    is checked against the hash of the text their vector was made from.
    """
    keys, hashes = (
        latest_hashes(directory, state.chunks)
        if directory is not None and state is not None
        else (np.empty(0, np.uint64), np.empty(0, np.uint64))
    )
    missing = 0
    for paper_ids in iter_paper_ids(engine):
        missing += len(paper_ids) - int(np.isin(_keys_of(paper_ids), keys).sum())
    if state is None or state.watermark is None or not len(keys):
        return missing
    stale = 0
    for rows in iter_changed_papers(engine, since=state.watermark - WATERMARK_OVERLAP):
        row_keys = _keys_of([row.paper_id for row in rows])
        texts = (document_text(row.title, row.abstract) for row in rows)
        row_hashes = np.fromiter((text_hash(text) for text in texts), np.uint64, len(rows))
        where = np.searchsorted(keys, row_keys).clip(max=len(keys) - 1)
        stale += int(((keys[where] == row_keys) & (hashes[where] != row_hashes)).sum())
    return missing + stale


def index_status(engine: sa.Engine, settings: Settings) -> IndexStatus:
    """How far each index follows the store."""
    layout = IndexLayout.under(settings.home)
    keyword_dir = layout.live("keyword")
    keyword = KeywordState.read(keyword_dir) if keyword_dir else None
    vectors_dir = layout.building("vectors") or layout.live("vectors")
    vectors = VectorState.read(vectors_dir) if vectors_dir else None
    pending = _not_embedded(engine, vectors_dir, vectors)
    return IndexStatus(
        papers=count_papers(engine),
        keyword_documents=keyword.documents if keyword else 0,
        keyword_synced_to=keyword.watermark if keyword else None,
        model=vectors.model if vectors else None,
        vectors=embedded_papers(vectors_dir, vectors) if vectors_dir and vectors else 0,
        vectors_in_graph=vectors.ann_vectors if vectors else 0,
        embedded_to=vectors.watermark if vectors else None,
        changed_since_embedding=pending,
        rebuilding=layout.building("vectors") is not None,
        disk_bytes=_disk_bytes(layout.root),
    )
