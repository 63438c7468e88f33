"""Semantic search (read side): nearest neighbours in the HNSW graph plus the newest chunks.

An index of up to `EXACT_SEARCH_MAX` vectors is searched exactly, graph or not (a few
milliseconds at most): small sites get exact neighbours, the same on every node and after
every rebuild, where an approximate graph built by several threads can differ slightly.

Filters work by candidate sets: when the filters admit few papers (up to `EXACT_FILTER_CAP`),
their vectors are scored exactly; otherwise the graph is searched with more neighbours than
asked for and the neighbours are checked against the filters, nearest first and only as many
as the filters' share of papers says will do (checking a neighbour means finding its paper
in the keyword index, unless it keeps the restriction's papers), then the rest if those were
not enough.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dailypapers.index.hnsw import hnsw_index
from dailypapers.index.keys import key_positions
from dailypapers.index.vectors import VectorState, read_chunk

EXACT_FILTER_CAP = 10_000
EXACT_SEARCH_MAX = 20_000
OVERSAMPLE = 10
MAX_NEIGHBOURS = 4000
# Neighbours checked first: this many times what the filters' share of papers predicts.
ADMIT_MARGIN = 2.0

Admits = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, slots=True)
class VectorHit:
    key: int
    score: float


class VectorSearcher:
    """Searches one vectors directory: the HNSW graph, then the chunks embedded after it."""

    def __init__(self, directory: Path, state: VectorState) -> None:
        self.directory = directory
        self.state = state
        ann_path = directory / "ann.usearch"
        graph = state.ann_chunks and ann_path.exists() and state.vectors > EXACT_SEARCH_MAX
        self._ann = hnsw_index().restore(str(ann_path), view=True) if graph else None
        self._ann_chunks = state.ann_chunks if self._ann is not None else 0
        self._delta_keys, self._delta_vectors = self._load_delta(state.chunks)

    def _load_delta(self, chunks: int) -> tuple[np.ndarray, np.ndarray]:
        keys: list[np.ndarray] = []
        vectors: list[np.ndarray] = []
        for number in range(self._ann_chunks + 1, chunks + 1):
            chunk = read_chunk(self.directory, number)
            keys.append(chunk.keys)
            vectors.append(chunk.vectors.astype(np.float32))
        if not keys:
            return np.empty(0, np.uint64), np.empty((0, self.state.dimensions), np.float32)
        all_keys = np.concatenate(keys)
        all_vectors = np.concatenate(vectors)
        unique, first = np.unique(all_keys[::-1], return_index=True)
        latest = len(all_keys) - 1 - first
        return unique, all_vectors[latest]

    @property
    def vectors(self) -> int:
        ann = int(self._ann.size) if self._ann is not None else 0
        return ann + len(self._delta_keys)

    def vector_for(self, key: int) -> np.ndarray | None:
        """The stored vector of one paper, or None if it is not embedded."""
        found, vectors = self.vectors_for(np.array([key], np.uint64))
        return vectors[0] if len(found) else None

    def vectors_for(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(keys found, their vectors) for the given keys."""
        keys = np.asarray(keys, np.uint64)
        # Whole blocks, joined once: stacking a row at a time cost more than the lookups.
        found_keys: list[np.ndarray] = []
        found: list[np.ndarray] = []
        in_delta, positions = key_positions(keys, self._delta_keys)
        if in_delta.any():
            found_keys.append(keys[in_delta])
            found.append(self._delta_vectors[positions[in_delta]])
        rest = keys[~in_delta]
        if self._ann is not None and len(rest):
            present = np.asarray(self._ann.contains(rest), bool)
            rest = rest[present]
            if len(rest):
                found_keys.append(rest)
                vectors = np.asarray(self._ann.get(rest, dtype="f32"), np.float32)
                found.append(vectors.reshape(len(rest), -1))
        if not found:
            return np.empty(0, np.uint64), np.empty((0, self.state.dimensions), np.float32)
        return np.concatenate(found_keys), np.concatenate(found).astype(np.float32, copy=False)

    def search(
        self,
        query: np.ndarray,
        *,
        limit: int,
        candidates: np.ndarray | None = None,
        admits: Admits | None = None,
        admitted_share: float | None = None,
        exclude: int | None = None,
    ) -> list[VectorHit]:
        """The `limit` nearest papers; restricted to `candidates` keys, or checked by `admits`
        (which admits about `admitted_share` of all papers, when known)."""
        if candidates is not None:
            keys, vectors = self.vectors_for(candidates)
            return _top(keys, vectors @ query, limit, exclude)
        wanted = limit + (1 if exclude is not None else 0)
        neighbours = min(MAX_NEIGHBOURS, wanted * OVERSAMPLE) if admits else wanted
        keys, scores = self._nearest(query, neighbours)
        if admits is not None and len(keys):
            keys, scores = _admitted(keys, scores, admits, wanted, admitted_share)
        return _top(keys, scores, limit, exclude)

    def _nearest(self, query: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        keys = [np.empty(0, np.uint64)]
        scores = [np.empty(0, np.float32)]
        if self._ann is not None and self._ann.size:
            matches = self._ann.search(query, count)
            ann_keys = np.asarray(matches.keys, np.uint64)
            fresh = ~key_positions(ann_keys, self._delta_keys)[0]  # superseded by a newer chunk
            keys.append(ann_keys[fresh])
            scores.append(1.0 - np.asarray(matches.distances, np.float32)[fresh])
        if len(self._delta_keys):
            delta_scores = self._delta_vectors @ query
            # The best `count`, in no order (the callers sort what they keep): a partition,
            # not a sort of every recently embedded paper (up to EXACT_SEARCH_MAX of them).
            top = (
                np.argpartition(-delta_scores, count)[:count]
                if count < len(delta_scores)
                else np.arange(len(delta_scores))
            )
            keys.append(self._delta_keys[top])
            scores.append(delta_scores[top])
        return np.concatenate(keys), np.concatenate(scores)


def _admitted(
    keys: np.ndarray, scores: np.ndarray, admits: Admits, wanted: int, share: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """The neighbours `admits` lets through, enough to hold the best `wanted` of them all.

    Nearest first: when the first ones checked hold `wanted` admitted, every later one is
    farther than those, so the best `wanted` are the same as if all had been checked."""
    order = np.argsort(-scores, kind="stable")
    keys, scores = keys[order], scores[order]
    first = len(keys)
    if share is not None and share > 0:
        first = min(len(keys), max(wanted, math.ceil(wanted / share * ADMIT_MARGIN)))
    allowed = np.zeros(len(keys), dtype=bool)
    allowed[:first] = admits(keys[:first])
    if first < len(keys) and int(allowed[:first].sum()) < wanted:
        allowed[first:] = admits(keys[first:])
    return keys[allowed], scores[allowed]


def _top(keys: np.ndarray, scores: np.ndarray, limit: int, exclude: int | None) -> list[VectorHit]:
    order = np.argsort(-scores, kind="stable")
    if exclude is not None:
        order = order[keys[order] != exclude]
    order = order[:limit]
    return [
        VectorHit(key, score)
        for key, score in zip(keys[order].tolist(), scores[order].tolist(), strict=True)
    ]
