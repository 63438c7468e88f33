"""Personal ranking (pure): a reader's "For you" classifier over paper embeddings.

Like arxiv-sanity's per-user SVM, the reader's liked papers (upvoted or saved) are the
positives; their "not interested" marks and a random background sample of the library are
the negatives. A logistic regression (L2, classes balanced) over the normalised embeddings
scores new papers; "why this paper" is the liked paper nearest to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Explicit "not interested" marks weigh more than background papers the reader never saw.
DISLIKED_WEIGHT = 3.0
REGULARISATION_C = 1.0


@dataclass(slots=True, frozen=True)
class Profile:
    """A trained reader model: a linear scorer over embeddings."""

    weights: np.ndarray
    bias: float

    def to_bytes(self) -> bytes:
        """Little-endian float32 weights then the bias (stored, never pickled)."""
        return np.append(self.weights, self.bias).astype("<f4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Profile:
        values = np.frombuffer(data, dtype="<f4").astype(np.float32)
        return cls(weights=values[:-1], bias=float(values[-1]))


def train_profile(liked: np.ndarray, disliked: np.ndarray, background: np.ndarray) -> Profile:
    """Fit the reader's classifier; needs at least one liked paper and one negative."""
    if len(liked) == 0 or len(disliked) + len(background) == 0:
        raise ValueError("a profile needs at least one liked paper and one negative")
    features = np.vstack([liked, disliked, background]).astype(np.float32)
    labels = np.concatenate(
        [np.ones(len(liked)), np.zeros(len(disliked)), np.zeros(len(background))]
    )
    weights = np.concatenate(
        [np.ones(len(liked)), np.full(len(disliked), DISLIKED_WEIGHT), np.ones(len(background))]
    )
    # Imported here: scikit-learn takes most of a second to import, and every CLI command and
    # web worker would pay it at start-up whether or not anyone's model is trained.
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=REGULARISATION_C, class_weight="balanced", max_iter=500)
    model.fit(features, labels, sample_weight=weights)
    return Profile(weights=model.coef_[0].astype(np.float32), bias=float(model.intercept_[0]))


def score_papers(profile: Profile, vectors: np.ndarray) -> np.ndarray:
    """Higher is more likely to interest the reader (the classifier's log-odds)."""
    if len(vectors) == 0:
        return np.empty(0, np.float32)
    scores: np.ndarray = vectors @ profile.weights + np.float32(profile.bias)
    return scores


def nearest_liked(vectors: np.ndarray, liked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each vector, the index of the most similar liked vector and that cosine."""
    if len(vectors) == 0 or len(liked) == 0:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    similarity = vectors @ liked.T
    best = np.argmax(similarity, axis=1)
    return best, similarity[np.arange(len(vectors)), best]


def top_indices(scores: np.ndarray, limit: int) -> list[int]:
    """Positions of the `limit` highest scores, best first (ties by position)."""
    if limit <= 0 or len(scores) == 0:
        return []
    order = np.lexsort((np.arange(len(scores)), -scores))
    return [int(i) for i in order[:limit]]


# Following is an explicit wish, so it moves a paper up; kept small beside the classifier's
# log-odds (typically -5..+5) so it breaks near-ties and lifts a close call, and never buries
# a strong match under a weak paper by a followed name. An author is a stronger wish than a
# whole category.
FOLLOWED_AUTHOR_BOOST = 1.0
FOLLOWED_CATEGORY_BOOST = 0.25


def follow_boost(*, by_followed_author: bool, in_followed_category: bool) -> float:
    """What a paper's score gains from the reader's follows (the two add up)."""
    return FOLLOWED_AUTHOR_BOOST * by_followed_author + FOLLOWED_CATEGORY_BOOST * (
        in_followed_category
    )
