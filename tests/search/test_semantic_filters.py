"""Filtered semantic search checks the graph's neighbours nearest first, only as many as the
filters' share of papers predicts, and the rest when those are not enough: the same hits as
checking them all."""

from __future__ import annotations

import numpy as np
import pytest

from dailypapers.search import semantic
from dailypapers.search.semantic import VectorHit
from tests.search.conftest import Corpus


def _search(corpus: Corpus, share: float | None, checked: list[int]) -> list[VectorHit]:
    vectors = corpus.searcher._vector_searcher()
    assert vectors is not None
    query = corpus.searcher.embedder().encode(["graph neural networks for molecules"])[0]

    def admits(keys: np.ndarray) -> np.ndarray:  # a third of the papers, by key
        checked.append(len(keys))
        return keys % np.uint64(3) == 0

    return vectors.search(query, limit=10, admits=admits, admitted_share=share)


@pytest.mark.parametrize(("share", "batches"), [(1 / 3, 1), (1.0, 2)])
def test_neighbours_checked_in_order_give_the_hits_of_checking_them_all(
    corpus: Corpus, share: float, batches: int
) -> None:
    everything: list[int] = []
    expected = _search(corpus, None, everything)
    assert everything == [10 * semantic.OVERSAMPLE]  # all neighbours at once
    assert len(expected) == 10 and all(hit.key % 3 == 0 for hit in expected)
    checked: list[int] = []
    assert _search(corpus, share, checked) == expected
    # The share says how many to check first (twice the prediction): 60 of 100 for a third.
    # Told that every paper passes, it checks 20, finds too few, then checks the other 80.
    assert len(checked) == batches and sum(checked) <= 100
    assert checked[0] == (60 if share < 1 else 20)
