"""Fusion of keyword and semantic rankings."""

from __future__ import annotations

from dailypapers.search.fusion import convex_fusion, reciprocal_rank_fusion


def test_convex_fusion_weights_normalised_scores() -> None:
    keyword = {"a": 10.0, "b": 5.0, "c": 0.0}
    semantic = {"a": 0.2, "b": 0.9, "c": 0.1}
    assert [k for k, _ in convex_fusion(keyword, semantic, keyword_weight=1.0)] == ["a", "b", "c"]
    assert [k for k, _ in convex_fusion(keyword, semantic, keyword_weight=0.0)] == ["b", "a", "c"]
    fused = dict(convex_fusion(keyword, semantic, keyword_weight=0.5))
    assert fused["a"] == 0.5 * 1.0 + 0.5 * (0.2 - 0.1) / 0.8


def test_convex_fusion_missing_keyword_is_zero_missing_vector_uses_keywords() -> None:
    fused = dict(convex_fusion({"a": 3.0, "b": 1.0}, {"c": 0.8, "b": 0.4}, keyword_weight=0.3))
    # "a" is not embedded yet: its keyword score stands in for its semantic score.
    assert fused == {"a": 1.0, "b": 0.0, "c": 0.7}


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    fused = reciprocal_rank_fusion(["a", "b", "c"], ["b", "c", "a"], k=60)
    assert fused[0][0] == "b"
    assert fused[0][1] == 1 / 61 + 1 / 62
