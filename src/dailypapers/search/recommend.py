""" "For you": rank candidate papers for one reader, with a short reason for each pick.

The reader's classifier (ranking/personal.py) is trained from their upvotes, saved papers, the
papers of the collections they own (an imported library counts from day one) and "not
interested" marks over the stored paper embeddings, kept in the database, and retrained the
next time it is used after the reader acts (`store.marks.get_feedback` lists them all, with
the stamp that says when to retrain). Before a reader has liked anything, picks come from
their chosen categories, else from what is most upvoted.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import numpy as np
import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.index.keys import paper_key
from dailypapers.ranking.personal import (
    Profile,
    follow_boost,
    nearest_liked,
    score_papers,
    top_indices,
    train_profile,
)
from dailypapers.search.query import QueryError, parse_query
from dailypapers.search.semantic import VectorSearcher
from dailypapers.search.service import Searcher, SearchUnavailable
from dailypapers.store.follows import Followed, followed, papers_by_authors
from dailypapers.store.lists import ListedPaper, sample_paper_ids
from dailypapers.store.marks import Feedback, StoredModel, get_feedback, get_model, put_model
from dailypapers.store.papers import get_papers

BACKGROUND_PAPERS = 512
BACKGROUND_TTL_S = 3600.0
# A saved search's match outranks any classifier score short of a near-certain one.
SEARCH_MATCH_BONUS = 4.0
RecommendationMode = Literal["personal", "categories", "popular"]
POPULAR_REASON = "popular now; upvote, save or collect papers to personalise"


@dataclass(slots=True, frozen=True)
class Pick:
    """A recommended paper and why: the nearest liked paper, a saved search, a category."""

    paper_id: str
    score: float
    reason: str
    because_of: str | None = None  # the liked paper's id, when that is the reason


@dataclass(slots=True)
class Recommendations:
    mode: RecommendationMode
    picks: list[Pick]
    notices: list[str] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class FollowBoosts:
    """What the reader's follows add to each pool paper's score, and the reason they give."""

    boost: dict[str, float] = field(default_factory=dict)
    reason: dict[str, str] = field(default_factory=dict)


def follow_boosts(
    engine: sa.Engine, follows: Followed, pool: Sequence[ListedPaper]
) -> FollowBoosts:
    """The boosts of pool papers by followed authors or in followed categories."""
    if not follows.authors and not follows.categories:
        return FollowBoosts()
    by_author = (
        papers_by_authors(
            engine, author_keys=sorted(follows.authors), paper_ids=[c.paper_id for c in pool]
        )
        if follows.authors
        else {}
    )
    wanted = {c.lower() for c in follows.categories}
    boosts = FollowBoosts()
    for paper in pool:
        keys = by_author.get(paper.paper_id, [])
        category = next((c for c in paper.categories if c.lower() in wanted), None)
        value = follow_boost(
            by_followed_author=bool(keys), in_followed_category=category is not None
        )
        if value:
            boosts.boost[paper.paper_id] = value
            if keys:
                names = ", ".join(follows.labels[k] for k in keys)
                boosts.reason[paper.paper_id] = f"by {names}, whom you follow"
            else:
                boosts.reason[paper.paper_id] = f"in {category}, a category you follow"
    return boosts


class Recommender:
    """Picks for readers, over one Searcher's indexes (not thread-safe, like Searcher)."""

    def __init__(self, engine: sa.Engine, settings: Settings, searcher: Searcher) -> None:
        self.engine = engine
        self.settings = settings
        self.searcher = searcher
        self._background: tuple[float, list[str], np.ndarray] | None = None

    def recommend(
        self,
        *,
        user_id: int | None,
        candidates: Sequence[ListedPaper],
        limit: int,
        categories: Sequence[str] = (),
        searches: Sequence[str] = (),
        exclude: frozenset[str] = frozenset(),
    ) -> Recommendations:
        """The best `limit` of `candidates` for the reader, each with its reason."""
        feedback = get_feedback(self.engine, user_id=user_id) if user_id is not None else None
        seen = set(exclude)
        if feedback is not None:
            seen |= set(feedback.liked) | set(feedback.disliked)
        pool = [c for c in candidates if c.paper_id not in seen]
        follows = followed(self.engine, user_id=user_id) if user_id is not None else Followed()
        boosts = follow_boosts(self.engine, follows, pool)
        matches = self.search_matches(pool, searches)
        vectors = self.searcher.vector_index()
        notices: list[str] = []
        if feedback is not None and feedback.liked and vectors is None:
            notices.append("papers are not embedded yet (run `dailypapers index build`)")
        if feedback is not None and feedback.liked and vectors is not None:
            personal = self._personal(user_id or 0, feedback, vectors, pool, matches, boosts, limit)
            if personal is not None:
                return Recommendations("personal", personal, notices)
        mode: RecommendationMode = "categories" if categories else "popular"
        picks = _cold_start(pool, matches, categories, limit, boosts)
        return Recommendations(mode, picks, notices)

    def search_matches(
        self, pool: Sequence[ListedPaper], searches: Sequence[str]
    ) -> dict[str, str]:
        """paper id -> the first saved search it matches, among `pool`."""
        if not searches or not pool:
            return {}
        try:
            keyword = self.searcher.keyword_index()
        except SearchUnavailable:
            return {}
        by_key = {paper_key(c.paper_id): c.paper_id for c in pool}
        found: dict[str, str] = {}
        for text in searches:
            try:
                query = parse_query(text)
            except QueryError:
                continue  # saved searches were checked when saved; a later change may not parse
            for key, _ in keyword.search_within(query, list(by_key), limit=len(by_key)):
                found.setdefault(by_key[key], text)
        return found

    def _personal(
        self,
        user_id: int,
        feedback: Feedback,
        vectors: VectorSearcher,
        pool: Sequence[ListedPaper],
        matches: dict[str, str],
        boosts: FollowBoosts,
        limit: int,
    ) -> list[Pick] | None:
        liked_ids, liked = _vectors_of(vectors, feedback.liked)
        if not liked_ids:
            return None
        profile = self._profile(user_id, feedback, vectors, liked, len(liked_ids))
        pool_ids, pool_vectors = _vectors_of(vectors, [c.paper_id for c in pool])
        embedded = set(pool_ids)
        bonus = np.array(
            [
                (SEARCH_MATCH_BONUS if i in matches else 0.0) + boosts.boost.get(i, 0.0)
                for i in pool_ids
            ]
        )
        # Papers not embedded yet can still come in through a saved search.
        unembedded = [pid for pid in matches if pid not in embedded]
        ranked_ids = pool_ids + unembedded
        scores = np.concatenate(
            [
                score_papers(profile, pool_vectors) + bonus,
                np.full(len(unembedded), SEARCH_MATCH_BONUS),
            ]
        ).astype(np.float32)
        order = top_indices(scores, limit)
        chosen = [(ranked_ids[i], float(scores[i])) for i in order]
        return self._explained(chosen, matches, boosts, liked_ids, liked, vectors)

    def _explained(
        self,
        chosen: list[tuple[str, float]],
        matches: dict[str, str],
        boosts: FollowBoosts,
        liked_ids: list[str],
        liked: np.ndarray,
        vectors: VectorSearcher,
    ) -> list[Pick]:
        chosen_ids, chosen_vectors = _vectors_of(vectors, [paper_id for paper_id, _ in chosen])
        best, _ = nearest_liked(chosen_vectors, liked)
        nearest = {pid: liked_ids[int(b)] for pid, b in zip(chosen_ids, best, strict=True)}
        titles = get_papers(self.engine, paper_ids=sorted(set(nearest.values())))
        picks = []
        for paper_id, score in chosen:
            if paper_id in matches:
                picks.append(
                    Pick(paper_id, score, f"matches your saved search “{matches[paper_id]}”")
                )
            elif paper_id in boosts.reason and "whom you follow" in boosts.reason[paper_id]:
                picks.append(Pick(paper_id, score, boosts.reason[paper_id]))
            elif paper_id in nearest and nearest[paper_id] in titles:
                because = titles[nearest[paper_id]]
                picks.append(Pick(paper_id, score, f"like “{because.title}”", because.paper_id))
            else:
                picks.append(Pick(paper_id, score, "close to papers you liked"))
        return picks

    def _profile(
        self,
        user_id: int,
        feedback: Feedback,
        vectors: VectorSearcher,
        liked: np.ndarray,
        liked_found: int,
    ) -> Profile:
        model_name = self.settings.embedding_model
        stamp = f"{feedback.stamp}:{liked_found}"
        stored = get_model(self.engine, user_id=user_id)
        if stored and stored.embedding_model == model_name and stored.feedback_stamp == stamp:
            return Profile.from_bytes(stored.weights)
        _, disliked = _vectors_of(vectors, feedback.disliked)
        profile = train_profile(liked, disliked, self._background_vectors(vectors, feedback))
        model = StoredModel(model_name, stamp, profile.to_bytes(), datetime.now(UTC))
        put_model(self.engine, user_id=user_id, model=model)
        return profile

    def _background_vectors(self, vectors: VectorSearcher, feedback: Feedback) -> np.ndarray:
        """The shared background sample, less this reader's own liked papers."""
        now = time.monotonic()
        if self._background is None or self._background[0] < now:
            ids = sample_paper_ids(self.engine, limit=BACKGROUND_PAPERS)
            found_ids, found = _vectors_of(vectors, ids)
            self._background = (now + BACKGROUND_TTL_S, found_ids, found)
        _, found_ids, found = self._background
        liked = set(feedback.liked)
        keep = np.array([pid not in liked for pid in found_ids], bool)
        return found[keep] if len(found_ids) else found


def _vectors_of(vectors: VectorSearcher, paper_ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """(ids that are embedded, in the given order, and their vectors)."""
    by_key = {paper_key(pid): pid for pid in paper_ids}
    keys, found = vectors.vectors_for(np.asarray(list(by_key), np.uint64))
    position = {int(k): i for i, k in enumerate(keys.tolist())}
    order = [position[k] for k in by_key if k in position]
    ids = [by_key[int(keys[i])] for i in order]
    return ids, found[order] if order else found[:0]


def _cold_start(
    pool: Sequence[ListedPaper],
    matches: dict[str, str],
    categories: Sequence[str],
    limit: int,
    boosts: FollowBoosts,
) -> list[Pick]:
    """Before anything is liked: saved-search matches, then papers the reader follows (by
    boost: followed authors before followed categories), then chosen categories, else popular
    papers (the pool comes most upvoted first)."""
    wanted = {c.lower() for c in categories}
    picks = [
        Pick(c.paper_id, float(c.score), f"matches your saved search “{matches[c.paper_id]}”")
        for c in pool
        if c.paper_id in matches
    ]
    followed_first = sorted(
        (c for c in pool if c.paper_id in boosts.boost and c.paper_id not in matches),
        key=lambda c: -boosts.boost[c.paper_id],  # stable: most upvoted first among equals
    )
    picks += [
        Pick(c.paper_id, float(c.score) + boosts.boost[c.paper_id], boosts.reason[c.paper_id])
        for c in followed_first
    ]
    for paper in pool:
        if len(picks) >= limit:
            break
        if paper.paper_id in matches or paper.paper_id in boosts.boost:
            continue
        if not wanted:
            picks.append(Pick(paper.paper_id, float(paper.score), POPULAR_REASON))
            continue
        hit = next((c for c in paper.categories if c.lower() in wanted), None)
        if hit is not None:
            reason = f"in {hit}, a category you follow"
            picks.append(Pick(paper.paper_id, float(paper.score), reason))
    return picks[:limit]
