"""A node's vector index (derived): the paper vectors of the database in chunk files, plus HNSW.

Vectors are computed once, by whichever worker embeds a paper, and stored in the database
(store/vectors.py). Each node copies them into its own index directory, as it derives its
keyword index from the papers table:
  model.json             which model made the vectors, and their dimensions
  chunk-000001/          keys.npy (uint64), hashes.npy (uint64 text hashes), vectors.npy (float16)
  state.json             how far the copy follows the database (an `embedded_at` watermark)
  ann.usearch, ann.json  an int8 HNSW graph over the first `chunks` chunks

Each chunk is written to a temporary directory and renamed into place, so a crash loses at
most the chunk being written; a restart resumes from the watermark and skips vectors it holds
already (matched by key and text hash). Chunks after those in the HNSW graph are searched
exactly until the graph is rebuilt. A later chunk supersedes an earlier vector for the same key.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

from dailypapers.dates import parse_iso_datetime
from dailypapers.index.embeddings import Embedder
from dailypapers.index.hnsw import hnsw_index
from dailypapers.index.keys import paper_key
from dailypapers.index.layout import IndexLayout, read_json, write_json_atomic
from dailypapers.store.vectors import (
    StoredVector,
    count_vectors_since,
    iter_vectors_since,
    vectors_window,
)

if TYPE_CHECKING:
    from usearch.index import Index

# 2: the watermark follows paper_vectors.embedded_at in the database (1 embedded locally).
VECTORS_FORMAT = 2
CHUNK_ROWS = 4096
WATERMARK_OVERLAP = timedelta(seconds=5)
HNSW_CONNECTIVITY = 16
HNSW_EXPANSION_ADD = 128
HNSW_EXPANSION_SEARCH = 96

Progress = Callable[[int], None]


def text_hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") >> 1


@dataclass(slots=True)
class VectorState:
    """What a vectors directory holds and how far it follows the store."""

    model: str
    dimensions: int
    watermark: datetime | None = None
    chunks: int = 0
    vectors: int = 0  # vector rows written, a paper embedded again counting twice
    ann_chunks: int = 0
    ann_vectors: int = 0
    # The vectors read within the overlap before the watermark, once no late commit can still
    # land there (None: not settled). See `is_current`.
    window_rows: int | None = None

    def is_current(self, engine: sa.Engine) -> bool:
        """True when the store holds no vector this directory has not read.

        Without this every sync re-read the overlap window: after a bulk embedding (a GPU
        worker, a benchmark) that is tens of thousands of vectors every 30 s in every process.
        """
        if self.watermark is None or self.window_rows is None:
            return False
        count, newest = vectors_window(
            engine, model=self.model, since=self.watermark - WATERMARK_OVERLAP
        )
        return count == self.window_rows and (newest is None or newest <= self.watermark)

    @classmethod
    def read(cls, directory: Path) -> VectorState | None:
        data = read_json(directory / "state.json")
        if not data or data.get("format") != VECTORS_FORMAT:
            return None
        mark = data.get("watermark")
        return cls(
            model=data["model"],
            dimensions=int(data["dimensions"]),
            watermark=parse_iso_datetime(mark) if mark else None,
            chunks=int(data["chunks"]),
            vectors=int(data["vectors"]),
            ann_chunks=int(data.get("ann_chunks", 0)),
            ann_vectors=int(data.get("ann_vectors", 0)),
            window_rows=data.get("window_rows"),
        )

    def write(self, directory: Path) -> None:
        data: dict[str, Any] = {
            "format": VECTORS_FORMAT,
            "model": self.model,
            "dimensions": self.dimensions,
            "watermark": self.watermark.isoformat() if self.watermark else None,
            "chunks": self.chunks,
            "vectors": self.vectors,
            "ann_chunks": self.ann_chunks,
            "ann_vectors": self.ann_vectors,
            "window_rows": self.window_rows,
        }
        write_json_atomic(directory / "state.json", data)


def chunk_directory(directory: Path, number: int) -> Path:
    return directory / f"chunk-{number:06d}"


@dataclass(slots=True)
class Chunk:
    keys: np.ndarray
    hashes: np.ndarray
    vectors: np.ndarray


def read_chunk(directory: Path, number: int, *, with_vectors: bool = True) -> Chunk:
    path = chunk_directory(directory, number)
    keys = np.load(path / "keys.npy")
    hashes = np.load(path / "hashes.npy")
    vectors = np.load(path / "vectors.npy") if with_vectors else np.empty((0, 0), np.float16)
    return Chunk(keys, hashes, vectors)


def _write_chunk(directory: Path, number: int, chunk: Chunk) -> None:
    final = chunk_directory(directory, number)
    temporary = final.with_name(final.name + ".tmp")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    for name, array in (("keys", chunk.keys), ("hashes", chunk.hashes), ("vectors", chunk.vectors)):
        with (temporary / f"{name}.npy").open("wb") as handle:
            np.save(handle, array, allow_pickle=False)
            handle.flush()
            os.fsync(handle.fileno())
    shutil.rmtree(final, ignore_errors=True)
    os.replace(temporary, final)


def latest_hashes(directory: Path, chunks: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted keys and the hash of each key's latest embedded text (read-only arrays).

    Chunk files never change once renamed into place, so the answer for the first `chunks`
    chunks of a directory is kept: `index watch` would otherwise re-read every chunk on each
    pass (1,400 files at 2.8 M papers) to find that nothing changed.
    """
    return _latest_hashes(str(directory), directory.stat().st_ino, chunks)


@functools.lru_cache(maxsize=4)
def _latest_hashes(directory_name: str, _inode: int, chunks: int) -> tuple[np.ndarray, np.ndarray]:
    directory = Path(directory_name)
    if chunks == 0:
        return np.empty(0, np.uint64), np.empty(0, np.uint64)
    parts = [read_chunk(directory, n, with_vectors=False) for n in range(1, chunks + 1)]
    keys = np.concatenate([p.keys for p in parts])
    hashes = np.concatenate([p.hashes for p in parts])
    # Reverse so that np.unique's first occurrence is the latest chunk's.
    unique, first = np.unique(keys[::-1], return_index=True)
    latest = hashes[::-1][first]
    unique.flags.writeable = latest.flags.writeable = False
    return unique, latest


def embedded_papers(directory: Path, state: VectorState) -> int:
    """How many distinct papers have a vector (`state.vectors` counts re-embeddings too)."""
    keys, _ = latest_hashes(directory, state.chunks)
    return len(keys)


def _new_vectors(
    batch: list[StoredVector], known_keys: np.ndarray, known_hashes: np.ndarray
) -> list[tuple[int, int, np.ndarray]]:
    """(key, text hash, vector) of the stored vectors this directory does not hold yet."""
    keys = np.fromiter((paper_key(v.paper_id) for v in batch), np.uint64, len(batch))
    hashes = np.fromiter((v.text_hash for v in batch), np.uint64, len(batch))
    if len(known_keys):
        where = np.searchsorted(known_keys, keys).clip(max=len(known_keys) - 1)
        same = (known_keys[where] == keys) & (known_hashes[where] == hashes)
    else:
        same = np.zeros(len(batch), bool)
    return [(int(keys[i]), int(hashes[i]), batch[i].vector) for i in np.flatnonzero(~same).tolist()]


def sync_from_store(
    engine: sa.Engine,
    directory: Path,
    state: VectorState,
    *,
    on_total: Callable[[int], None] | None = None,
    on_progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> bool:
    """Copy the vectors stored since the watermark into chunk files, one chunk at a time.

    The database holds every vector (computed once, by whichever worker embedded the paper);
    this directory is a node's derived copy that the HNSW graph is built from. Returns True
    when it has caught up, False when `should_stop` paused it (the watermark says where to go
    on). Vectors already held with the same text are skipped, so the overlap window re-read
    after each sync costs nothing.
    """
    if state.is_current(engine):
        if on_total:
            on_total(0)
        return True
    state.window_rows = None
    since = None if state.watermark is None else state.watermark - WATERMARK_OVERLAP
    if on_total:
        on_total(count_vectors_since(engine, model=state.model, since=since))
    known_keys, known_hashes = latest_hashes(directory, state.chunks)
    pending: list[tuple[int, int, np.ndarray]] = []
    newest = state.watermark
    read_started = datetime.now(UTC)
    window: deque[datetime] = deque()  # times of the rows within the overlap of the newest
    for batch in iter_vectors_since(engine, model=state.model, since=since, batch_size=chunk_rows):
        pending.extend(_new_vectors(batch, known_keys, known_hashes))
        newest = batch[-1].embedded_at
        for vector in batch:
            window.append(vector.embedded_at)
        while window[0] < newest - WATERMARK_OVERLAP:
            window.popleft()
        while len(pending) >= chunk_rows:
            _flush(directory, state, pending[:chunk_rows], None)
            pending = pending[chunk_rows:]
        if not pending:
            state.watermark = newest
            state.write(directory)
        if on_progress:
            on_progress(len(batch))
        if should_stop and should_stop():
            _flush(directory, state, pending, newest)
            return False
    # Trusted only once no commit can still land in the window behind the newest row.
    settled = newest is not None and read_started - newest > WATERMARK_OVERLAP
    state.window_rows = len(window) if settled else None
    _flush(directory, state, pending, newest)
    return True


def _flush(
    directory: Path,
    state: VectorState,
    items: list[tuple[int, int, np.ndarray]],
    watermark: datetime | None,
) -> None:
    if items:
        keys = np.array([key for key, _, _ in items], np.uint64)
        hashes = np.array([value for _, value, _ in items], np.uint64)
        vectors = np.stack([vector for _, _, vector in items]).astype(np.float16)
        _write_chunk(directory, state.chunks + 1, Chunk(keys, hashes, vectors))
        state.chunks += 1
        state.vectors += len(items)
    if watermark is not None:
        state.watermark = watermark
    state.write(directory)


def update_ann(directory: Path, state: VectorState, graph: Index | None = None) -> Index:
    """Add the chunks embedded since the last update to the HNSW graph and swap the new graph
    file in atomically (a missing graph is built from every chunk). Returns the graph: a
    caller updating again soon passes it back instead of having the file read again."""
    path = directory / "ann.usearch"
    first = 1
    if graph is not None and graph.size == state.ann_vectors and state.ann_chunks:
        index = graph
        first = state.ann_chunks + 1
    else:
        index = hnsw_index()(
            ndim=state.dimensions,
            metric="cos",
            dtype="i8",
            connectivity=HNSW_CONNECTIVITY,
            expansion_add=HNSW_EXPANSION_ADD,
            expansion_search=HNSW_EXPANSION_SEARCH,
        )
        if state.ann_chunks and path.exists():
            index.load(str(path))
            first = state.ann_chunks + 1
    for number in range(first, state.chunks + 1):
        chunk = read_chunk(directory, number)
        if index.size:
            stale = chunk.keys[np.asarray(index.contains(chunk.keys), bool)]
            if len(stale):
                index.remove(stale)
        index.add(chunk.keys, chunk.vectors.astype(np.float32), threads=os.cpu_count() or 1)
    temporary = directory / "ann.usearch.tmp"
    index.save(str(temporary))
    os.replace(temporary, path)
    state.ann_chunks = state.chunks
    state.ann_vectors = int(index.size)
    state.write(directory)
    return index


def open_vector_directory(
    layout: IndexLayout, embedder: Embedder, *, rebuild: bool
) -> tuple[Path, VectorState, bool]:
    """The vectors directory to embed into, its state, and whether it is live already.

    An interrupted rebuild for this model is resumed first; otherwise the live directory is
    used when this model made it. Otherwise (a new model, or `rebuild`) a new version is built
    beside the live one and published when complete. The very first build is published at
    once, so papers become semantically searchable as they are embedded.
    """
    live = layout.live("vectors")
    building = layout.building("vectors")
    if not rebuild and building is not None:
        resumed = VectorState.read(building)
        if resumed is not None and resumed.model == embedder.name:
            return building, resumed, False
    state = VectorState.read(live) if live is not None else None
    if not rebuild and live is not None and state is not None and state.model == embedder.name:
        return live, state, True
    directory = layout.new_version("vectors")
    state = VectorState(model=embedder.name, dimensions=embedder.dimensions)
    state.write(directory)
    if live is None:
        layout.publish("vectors", directory)
        return directory, state, True
    layout.mark_building("vectors", directory)
    return directory, state, False
