"""Fusing keyword and semantic rankings (pure functions over plain data)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

# Candidates are named by paper ids or by index keys; ties are broken by the name.
Key = TypeVar("Key", str, int)

# Tuned on the SciFact train queries (bench/quality.py --tune); see docs/search.md.
DEFAULT_KEYWORD_WEIGHT = 0.55
RRF_K = 60


def _min_max(scores: Mapping[Key, float]) -> dict[Key, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    span = high - low
    return {key: (value - low) / span if span else 1.0 for key, value in scores.items()}


def convex_fusion(
    keyword: Mapping[Key, float],
    semantic: Mapping[Key, float],
    *,
    keyword_weight: float = DEFAULT_KEYWORD_WEIGHT,
) -> list[tuple[Key, float]]:
    """Rank by w * keyword + (1 - w) * semantic, each min-max normalised over the candidates.

    A candidate missing from `keyword` was not among the best keyword matches and scores 0
    there. One missing from `semantic` has no vector yet (not embedded), so its keyword score
    stands in for both.
    """
    keyword_norm = _min_max(keyword)
    semantic_norm = _min_max(semantic)
    fused = {}
    for key in keyword_norm.keys() | semantic_norm.keys():
        lexical = keyword_norm.get(key, 0.0)
        meaning = semantic_norm.get(key, lexical)
        fused[key] = keyword_weight * lexical + (1.0 - keyword_weight) * meaning
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def reciprocal_rank_fusion(*rankings: list[str], k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: each list adds 1 / (k + rank) to the items it ranks."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))
