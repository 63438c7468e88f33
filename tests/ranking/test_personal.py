"""The reader classifier (pure): learns a direction, round-trips without pickling, explains."""

from __future__ import annotations

import numpy as np
import pytest

from dailypapers.ranking.personal import (
    Profile,
    nearest_liked,
    score_papers,
    top_indices,
    train_profile,
)


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_scores_follow_the_liked_direction_and_dislikes_push_away() -> None:
    rng = np.random.default_rng(0)
    topic, other = np.eye(8, dtype=np.float32)[0], np.eye(8, dtype=np.float32)[1]
    liked = _unit(topic + 0.3 * rng.standard_normal((5, 8)))
    disliked = _unit(other + 0.3 * rng.standard_normal((3, 8)))
    background = _unit(rng.standard_normal((100, 8)))
    profile = train_profile(liked, disliked, background)
    scores = score_papers(profile, np.stack([topic, other, -topic]))
    assert scores[0] > scores[2] and scores[0] > scores[1]
    assert scores[1] < score_papers(profile, background).mean()  # disliked side ranks low


def test_profile_round_trips_as_float32_bytes() -> None:
    profile = Profile(weights=np.arange(4, dtype=np.float32), bias=-0.5)
    data = profile.to_bytes()
    assert len(data) == 5 * 4
    again = Profile.from_bytes(data)
    assert np.array_equal(again.weights, profile.weights) and again.bias == -0.5


def test_needs_a_liked_paper() -> None:
    with pytest.raises(ValueError, match="liked"):
        train_profile(np.empty((0, 4)), np.empty((0, 4)), np.ones((3, 4)))


def test_nearest_liked_and_top_indices() -> None:
    liked = np.eye(3, dtype=np.float32)
    best, cosine = nearest_liked(np.array([[0, 0.9, 0.1], [1, 0, 0]], np.float32), liked)
    assert best.tolist() == [1, 0] and cosine[1] == pytest.approx(1.0)
    assert top_indices(np.array([0.1, 0.9, 0.9, 0.5]), 3) == [1, 2, 3]
    assert top_indices(np.array([]), 3) == []
