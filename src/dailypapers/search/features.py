"""What the learned ranker sees of each hybrid candidate (pure functions over plain data).

Every feature is read from what a hybrid search already has or can get cheaply for its
~200 candidates: the cosine similarity, the BM25 score, the ranks in the two retrievers'
lists and today's convex fusion score, and which of the query's words each candidate has in
its title or abstract, in its title, in its author names, and which adjacent pairs of them
as a phrase (one extra keyword search per query, see KeywordSearcher.match_scores). Scores
are also given relative to the best candidate of the same query, because BM25 and cosine
levels differ from corpus to corpus and from query to query (a model trained on SciFact
must rank arXiv papers too).

Recency and votes are not features: no judged query set rewards them (SciFact has neither,
and our arXiv set spans one month), so a model could only learn noise from them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

FEATURE_NAMES: tuple[str, ...] = (
    "fused",
    "fused_rank",
    "cosine",
    "cosine_gap",
    "cosine_z",
    "semantic_rank",
    "prf_cosine",
    "prf_gap",
    "bm25",
    "bm25_norm",
    "keyword_rank",
    "coverage",
    "idf_coverage",
    "rare_coverage",
    "max_idf_matched",
    "title_coverage",
    "title_idf_coverage",
    "authors",
    "phrases",
    "query_terms",
    "question",
)
# The pseudo-relevance feedback centroid is the mean of this many best fused candidates.
FEEDBACK_DEPTH = 5
# rare_coverage: the share of the query's this many rarest terms that a candidate has.
RAREST_TERMS = 3
_QUESTION_START = re.compile(
    r"^\s*(how|what|why|which|who|whom|whose|when|where|can|could|does|do|did|is|are|was|"
    r"were|should|would|will|has|have|any|my|i|we)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class MatchScores:
    """Which query words each candidate has, read from the keyword index (rows: candidates)."""

    body: np.ndarray  # (candidates, terms) bool: the free term is in the title or abstract
    title: np.ndarray  # (candidates, terms) bool: in the title
    idf: np.ndarray  # (terms,): each term's inverse document frequency in the index
    authors: np.ndarray  # (candidates, names) bool: an author's name has the query word
    author_idf: np.ndarray  # (names,)
    phrases: np.ndarray  # (candidates, pairs) bool: two adjacent query words, as a phrase


@dataclass(frozen=True, slots=True)
class RetrievalScores:
    """How the two retrievers and today's fusion placed each candidate."""

    cosine: np.ndarray  # NaN where the paper has no vector yet
    bm25: np.ndarray  # keyword score; 0 below the keyword list's depth
    keyword_rank: np.ndarray  # 1-based rank in the keyword list; depth + 1 when absent
    semantic_rank: np.ndarray
    fused: np.ndarray  # convex fusion score
    vectors: np.ndarray  # (candidates, dimensions): unit vectors, zeros where not embedded


def is_question(text: str) -> bool:
    """A question or a request written as one ("how do I ...", "what is ...?")."""
    return text.rstrip().endswith("?") or _QUESTION_START.match(text) is not None


def candidate_features(
    matches: MatchScores, retrieval: RetrievalScores, *, question: bool
) -> np.ndarray:
    """One row per candidate, columns in FEATURE_NAMES order."""
    count = len(retrieval.fused)
    if count == 0:
        return np.zeros((0, len(FEATURE_NAMES)))
    cosine = retrieval.cosine
    if np.isnan(cosine).all():
        cosine = np.zeros(count)
    else:  # a paper not embedded yet is taken as the least similar candidate
        cosine = np.where(np.isnan(cosine), np.nanmin(cosine), cosine)
    order = np.argsort(-retrieval.fused, kind="stable")
    fused_rank = np.empty(count)
    fused_rank[order] = np.arange(1, count + 1)
    prf = _feedback_cosine(retrieval.vectors, order[:FEEDBACK_DEPTH])
    rarest = np.argsort(-matches.idf, kind="stable")[:RAREST_TERMS]
    columns = {
        "fused": retrieval.fused,
        "fused_rank": np.log2(1 + fused_rank),
        "cosine": cosine,
        "cosine_gap": cosine - cosine.max(initial=0.0),
        "cosine_z": _standard(cosine),
        "semantic_rank": np.log2(1 + retrieval.semantic_rank),
        "prf_cosine": prf,
        "prf_gap": prf - prf.max(initial=0.0),
        "bm25": retrieval.bm25,
        "bm25_norm": _relative(retrieval.bm25),
        "keyword_rank": np.log2(1 + retrieval.keyword_rank),
        "coverage": _share(matches.body),
        "idf_coverage": _share(matches.body, matches.idf),
        "rare_coverage": _share(matches.body[:, rarest], matches.idf[rarest]),
        "max_idf_matched": _best_matched(matches.body, matches.idf),
        "title_coverage": _share(matches.title),
        "title_idf_coverage": _share(matches.title, matches.idf),
        "authors": _share(matches.authors, matches.author_idf),
        "phrases": _share(matches.phrases),
        "query_terms": np.full(count, math.log2(1 + matches.body.shape[1])),
        "question": np.full(count, float(question)),
    }
    return np.column_stack([columns[name] for name in FEATURE_NAMES]).astype(np.float64)


def _feedback_cosine(vectors: np.ndarray, top: np.ndarray) -> np.ndarray:
    """Cosine of each candidate with the mean of the best fused candidates' vectors: papers
    like those the fusion ranks first (pseudo-relevance feedback, as a signal to weigh)."""
    centroid = vectors[top].mean(axis=0)
    norm = float(np.linalg.norm(centroid))
    if norm == 0:
        return np.zeros(len(vectors))
    similarity: np.ndarray = vectors @ (centroid / norm)
    return similarity


def _best_matched(matched: np.ndarray, idf: np.ndarray) -> np.ndarray:
    """Per row, the highest idf among the terms matched, relative to the query's highest."""
    if matched.shape[1] == 0 or float(idf.max()) <= 0:
        return np.zeros(matched.shape[0])
    best: np.ndarray = (matched * idf).max(axis=1) / float(idf.max())
    return best


def _share(matched: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Per row, the (weighted) share of the columns matched; 0 without columns."""
    if matched.shape[1] == 0:
        return np.zeros(matched.shape[0])
    weights = np.ones(matched.shape[1]) if weights is None else weights
    total = float(weights.sum())
    shares: np.ndarray = matched @ weights / total if total > 0 else np.zeros(matched.shape[0])
    return shares


def _relative(values: np.ndarray) -> np.ndarray:
    best = float(values.max(initial=0.0))
    return values / best if best > 0 else np.zeros_like(values, dtype=np.float64)


def _standard(values: np.ndarray) -> np.ndarray:
    spread = float(values.std()) if len(values) else 0.0
    if spread == 0:
        return np.zeros_like(values, dtype=np.float64)
    standard: np.ndarray = (values - values.mean()) / spread
    return standard
