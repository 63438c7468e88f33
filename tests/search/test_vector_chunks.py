"""The vectors of a paper embedded again after the graph was built come from its newest
chunk: looked up by key, and in searches, where the graph's older copy is left out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dailypapers.index.vectors import Chunk, VectorState, _write_chunk, update_ann
from dailypapers.search.semantic import EXACT_SEARCH_MAX, VectorSearcher

DIMENSIONS = 16
GRAPHED = EXACT_SEARCH_MAX + 1  # more than are searched exactly: the graph is used
EMBEDDED_AGAIN = 5
NEW = 10**9


def _unit(rows: np.ndarray) -> np.ndarray:
    unit: np.ndarray = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return unit


def _chunk(keys: np.ndarray, vectors: np.ndarray) -> Chunk:
    return Chunk(keys.astype(np.uint64), keys.astype(np.uint64), vectors.astype(np.float16))


@pytest.fixture(scope="module")
def vectors(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[VectorSearcher, np.ndarray, np.ndarray]:
    """A graph over GRAPHED papers (keys 1..GRAPHED), then a newer chunk that embeds paper
    EMBEDDED_AGAIN again and a new paper NEW. Returns the searcher, the graph's vectors (row
    key - 1) and the newer chunk's."""
    directory: Path = tmp_path_factory.mktemp("vectors")
    rng = np.random.default_rng(3)
    first = _unit(rng.normal(size=(GRAPHED, DIMENSIONS)))
    _write_chunk(directory, 1, _chunk(np.arange(1, GRAPHED + 1), first))
    state = VectorState(model="test", dimensions=DIMENSIONS, chunks=1, vectors=GRAPHED)
    update_ann(directory, state)
    again = _unit(rng.normal(size=(2, DIMENSIONS)))
    _write_chunk(directory, 2, _chunk(np.array([EMBEDDED_AGAIN, NEW]), again))
    state.chunks, state.vectors = 2, GRAPHED + 2
    return VectorSearcher(directory, state), first, again


def test_lookups_by_key_read_the_newest_vector(
    vectors: tuple[VectorSearcher, np.ndarray, np.ndarray],
) -> None:
    searcher, first, again = vectors
    asked = np.array([NEW, 7, EMBEDDED_AGAIN, 10**12], np.uint64)
    keys, found = searcher.vectors_for(asked)
    by_key = dict(zip(keys.tolist(), found, strict=True))
    assert set(by_key) == {NEW, 7, EMBEDDED_AGAIN}  # the unknown key is left out
    np.testing.assert_allclose(by_key[EMBEDDED_AGAIN], again[0], atol=1e-3)
    np.testing.assert_allclose(by_key[NEW], again[1], atol=1e-3)
    assert float(by_key[7] @ first[6]) > 0.95  # from the graph (stored in 8 bits)


def test_a_search_sees_only_the_newest_vector_of_a_paper(
    vectors: tuple[VectorSearcher, np.ndarray, np.ndarray],
) -> None:
    searcher, first, again = vectors
    hits = searcher.search(again[0].astype(np.float32), limit=5)
    assert hits[0].key == EMBEDDED_AGAIN and hits[0].score == pytest.approx(1.0, abs=1e-3)
    # Searched by its old vector, the graph's copy of the paper (which would score 1) is
    # left out: the paper can only come with the score of its newest vector.
    now = float(again[0] @ first[EMBEDDED_AGAIN - 1])
    hits = searcher.search(first[EMBEDDED_AGAIN - 1].astype(np.float32), limit=20)
    assert len(hits) == 20
    assert all(h.score == pytest.approx(now, abs=1e-3) for h in hits if h.key == EMBEDDED_AGAIN)
    assert [h.key for h in hits].count(EMBEDDED_AGAIN) <= 1
