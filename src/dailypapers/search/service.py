"""Search service: the functions the CLI and the web API call.

`Searcher` holds the open indexes of one data directory and notices when they change (a
keyword commit, a new vector chunk, a rebuilt version), so a long-running server sees fresh
papers without restarting.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.index.build import sync_keyword_index
from dailypapers.index.embeddings import Embedder
from dailypapers.index.keys import paper_key
from dailypapers.index.keyword import KeywordState
from dailypapers.index.layout import COMMIT_FILES, FileStamp, IndexLayout, IndexWatch, file_stamp
from dailypapers.index.onnx_encoder import load_query_encoder
from dailypapers.index.vectors import VectorState
from dailypapers.models import Paper, SearchHit, SearchMode, SearchResults
from dailypapers.search.features import RetrievalScores, candidate_features, is_question
from dailypapers.search.fusion import DEFAULT_KEYWORD_WEIGHT, convex_fusion
from dailypapers.search.keyword import KeyHits, KeywordSearcher
from dailypapers.search.query import Filters, ParsedQuery, QueryError, parse_query
from dailypapers.search.ranker import Ranker, shipped_ranker
from dailypapers.search.semantic import EXACT_FILTER_CAP, VectorSearcher
from dailypapers.store.papers import get_paper, get_papers

SEARCH_MODES: tuple[SearchMode, ...] = ("keyword", "semantic", "hybrid")
MAX_LIMIT = 100
MAX_OFFSET = 1000
HYBRID_CANDIDATES = 100
# (paper id, score, keyword score, semantic score)
Scored = tuple[str, float, float | None, float | None]


@dataclass(frozen=True, slots=True)
class _Candidates:
    """Hybrid candidates by key, in convex fusion order, with what each retriever said."""

    keys: list[int]
    fused: np.ndarray
    bm25: dict[int, float]  # keyword top `depth` only
    cosine: dict[int, float]  # embedded papers only
    vector_keys: np.ndarray  # the embedded candidates' keys, in no particular order
    vectors: np.ndarray  # their vectors, as rows in `vector_keys` order
    keyword_rank: dict[int, int]
    semantic_rank: dict[int, int]


class SearchUnavailable(RuntimeError):
    """The index a search needs has not been built yet; the message says what to run."""


class PaperNotFound(LookupError):
    """No stored paper has the given id."""


def _vector_rows(found: _Candidates) -> np.ndarray:
    """The candidates' vectors as rows in `found.keys` order; zeros for papers without one."""
    dimensions = found.vectors.shape[1] if found.vectors.ndim == 2 else 1
    rows = np.zeros((len(found.keys), dimensions), np.float32)
    if len(found.vector_keys):
        order = np.argsort(found.vector_keys)
        keys = np.asarray(found.keys, np.uint64)
        at = np.minimum(np.searchsorted(found.vector_keys, keys, sorter=order), len(order) - 1)
        embedded = found.vector_keys[order[at]] == keys
        rows[embedded] = found.vectors[order[at[embedded]]]
    return rows


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    if not 0 <= offset <= MAX_OFFSET:
        raise QueryError(f"offset must be between 0 and {MAX_OFFSET}, not {offset}")


class Searcher:
    """Keyword, semantic and hybrid search over one store and its indexes."""

    def __init__(
        self,
        engine: sa.Engine,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        keyword_weight: float = DEFAULT_KEYWORD_WEIGHT,
        ranker: Ranker | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.layout = IndexLayout.under(settings.home)
        self.keyword_weight = keyword_weight
        # The learned ranker orders hybrid results; without it (turned off, or no model file
        # shipped) the convex fusion does.
        self.ranker = ranker or (shipped_ranker() if settings.search_ranker else None)
        self._embedder_name = settings.embedding_model
        self._embedder = embedder
        self._keyword: KeywordSearcher | None = None
        self._vectors: VectorSearcher | None = None
        # The index files as they were before the open searchers last (re)loaded them.
        self._watch = IndexWatch(self.layout)
        self._keyword_stamp: tuple[object, ...] | None = None
        self._vectors_stamp: tuple[Path, FileStamp] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0

    # -- index handles -------------------------------------------------------------------

    def refresh(self) -> int:
        """Index papers changed since the last sync, unless another process is writing the
        index now; returns how many were indexed."""
        indexed = sync_keyword_index(self.engine, self.settings)
        self._keyword_stamp = None
        return indexed or 0

    def _keyword_searcher(self) -> KeywordSearcher:
        # Stamped before reloading, so a searcher holds at least what its stamp describes:
        # a commit seen by IndexWatch is searched by the next query (web.state.DataVersion).
        stamp = self._watch.stamp("keyword")
        if self._keyword is not None and stamp == self._keyword_stamp:
            return self._keyword
        live = self._watch.live("keyword")
        if live is None:
            raise SearchUnavailable("the keyword index is not built: run `dailypapers index build`")
        if self._keyword is None or self._keyword.directory != live:
            if KeywordState.read(live) is None:  # made by an older release: a sync rebuilds it
                raise SearchUnavailable(
                    "the keyword index is from an older release and is being rebuilt: "
                    "try again shortly, or run `dailypapers index build`"
                )
            self._keyword = KeywordSearcher(live)
        else:
            self._keyword.reload()
        self._keyword_stamp = stamp
        return self._keyword

    def _vector_searcher(self) -> VectorSearcher | None:
        live = self._watch.live("vectors")
        if live is None:
            return None
        stamp = (live, file_stamp(live / COMMIT_FILES["vectors"]))
        if stamp[1] is None:
            return None
        if self._vectors is None or self._vectors_stamp != stamp:
            state = VectorState.read(live)
            if state is None or state.chunks == 0:
                return None
            self._vectors = VectorSearcher(live, state)
            self._vectors_stamp = stamp
        return self._vectors

    def keyword_index(self) -> KeywordSearcher:
        """The open keyword index (SearchUnavailable if it is not built)."""
        return self._keyword_searcher()

    def vector_index(self) -> VectorSearcher | None:
        """The open vector index, or None before any paper is embedded."""
        return self._vector_searcher()

    def embedder(self) -> Embedder:
        """The query encoder: ONNX Runtime where the model allows it (no torch to load)."""
        if self._embedder is None:
            self._embedder = load_query_encoder(
                self._embedder_name,
                home=self.settings.home,
                precision=self.settings.query_encoder_precision,
            )
        return self._embedder

    # -- searching -----------------------------------------------------------------------

    def search(
        self,
        text: str,
        *,
        mode: SearchMode = "hybrid",
        limit: int = 10,
        offset: int = 0,
        filters: Filters | None = None,
    ) -> SearchResults:
        """One page of results for a search box query. Raises QueryError for a bad query."""
        _check_page(limit, offset)
        if mode not in SEARCH_MODES:
            raise QueryError(f"mode must be one of {', '.join(SEARCH_MODES)}, not {mode!r}")
        query = parse_query(text)
        if filters is not None:
            query = query.with_filters(filters)
        keyword = self._keyword_searcher()
        notices: list[str] = []
        vectors = self._vector_searcher() if mode != "keyword" else None
        if mode != "keyword" and not query.semantic_text:
            notices.append("no words to compare by meaning: ranked by keywords")
            mode = "keyword"
        elif mode != "keyword" and vectors is None:
            if mode == "semantic":
                raise SearchUnavailable("no papers are embedded yet: run `dailypapers index build`")
            notices.append("semantic index not built yet: ranked by keywords only")
            mode = "keyword"
        # The mode that ranks them: keyword when the search fell back (the notices say why).
        results = SearchResults(
            query=query.text, mode=mode, hits=[], offset=offset, limit=limit, notices=notices
        )
        if mode == "keyword":
            hits, total = keyword.search(query, limit=limit, offset=offset)
            results.total = total
            scored: list[Scored] = [(h.paper_id, h.score, h.score, None) for h in hits]
        else:
            assert vectors is not None
            scored = self._ranked(query, keyword, vectors, mode, offset + limit)[offset:]
        results.hits = self._with_papers(scored)
        return results

    def _ranked(
        self,
        query: ParsedQuery,
        keyword: KeywordSearcher,
        vectors: VectorSearcher,
        mode: SearchMode,
        wanted: int,
    ) -> list[Scored]:
        depth = max(wanted, HYBRID_CANDIDATES) if mode == "hybrid" else wanted
        keyword_hits: Future[KeyHits] | None = None
        if mode == "hybrid":
            keyword_hits = self._keyword_pool().submit(keyword.search_keys, query, limit=depth)
        vector = self.embedder().encode([query.semantic_text])[0]
        semantic = self._semantic_hits(query, keyword, vectors, vector, depth)
        if keyword_hits is None:
            ids = keyword.paper_ids_for([key for key, _ in semantic])
            return [(ids[key], score, None, score) for key, score in semantic if key in ids]
        keyword_found = keyword_hits.result()
        found = self._hybrid_candidates(keyword_found.scored, vectors, vector, semantic)
        ranked = list(zip(found.keys, found.fused.tolist(), strict=True))
        if self.ranker is not None and len(ranked) > 1:
            scores = self.ranker.score(self._features(query, keyword, found))
            ranked = [(found.keys[row], float(scores[row])) for row in np.argsort(-scores)]
        ranked = ranked[:wanted]
        # The shown papers the keyword half found are read where it found them.
        ids = keyword.paper_ids_for([key for key, _ in ranked], found=keyword_found)
        return [
            (ids[key], score, found.bm25.get(key, 0.0), found.cosine.get(key))
            for key, score in ranked
            if key in ids
        ]

    def _keyword_pool(self) -> ThreadPoolExecutor:
        """The thread that runs a hybrid query's keyword search while the calling thread
        encodes the query and searches the vectors (tantivy, ONNX Runtime and usearch release
        the GIL): a query waits for the longer of the two, not their sum. One is enough: a
        Searcher runs one search at a time (it is not thread-safe)."""
        # A forked process has none of its parent's threads: it makes a pool of its own.
        if self._pool is None or self._pool_pid != os.getpid():
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="keyword-search")
            self._pool_pid = os.getpid()
        return self._pool

    def _hybrid_candidates(
        self,
        keyword_hits: list[tuple[int, float]],
        vectors: VectorSearcher,
        vector: np.ndarray,
        semantic: list[tuple[int, float]],
    ) -> _Candidates:
        """The keyword and semantic tops, in convex fusion order."""
        keys = list(dict.fromkeys([key for key, _ in keyword_hits] + [k for k, _ in semantic]))
        # Semantic-only candidates did not reach the keyword top `depth`; they count as 0.
        # Their exact BM25 scores cost a second full keyword pass (most of the latency at
        # 2.8 M papers) and changed SciFact nDCG@10 by 0.0001 (test) and 0.0004 (train).
        bm25 = dict(keyword_hits)
        found_keys, found_vectors = vectors.vectors_for(np.asarray(keys, np.uint64))
        cosine = dict(zip(found_keys.tolist(), (found_vectors @ vector).tolist(), strict=True))
        # Fuse on keys; only the page that is shown needs paper ids (stored-document reads).
        fused = convex_fusion(
            {k: bm25.get(k, 0.0) for k in keys}, cosine, keyword_weight=self.keyword_weight
        )
        return _Candidates(
            keys=[key for key, _ in fused],
            fused=np.array([score for _, score in fused]),
            bm25=bm25,
            cosine=cosine,
            vector_keys=found_keys,
            vectors=found_vectors,
            keyword_rank={key: rank for rank, (key, _) in enumerate(keyword_hits, start=1)},
            semantic_rank={key: rank for rank, (key, _) in enumerate(semantic, start=1)},
        )

    def _features(
        self, query: ParsedQuery, keyword: KeywordSearcher, found: _Candidates
    ) -> np.ndarray:
        """The learned ranker's view of the candidates (rows in `found.keys` order)."""
        absent = len(found.keys) + 1
        retrieval = RetrievalScores(
            cosine=np.array([found.cosine.get(key, np.nan) for key in found.keys]),
            bm25=np.array([found.bm25.get(key, 0.0) for key in found.keys]),
            keyword_rank=np.array([found.keyword_rank.get(k, absent) for k in found.keys], float),
            semantic_rank=np.array([found.semantic_rank.get(k, absent) for k in found.keys], float),
            fused=found.fused,
            vectors=_vector_rows(found),
        )
        matches = keyword.match_scores(query, found.keys)
        return candidate_features(matches, retrieval, question=is_question(query.text))

    def ranking_features(self, text: str) -> tuple[list[str], np.ndarray]:
        """A query's hybrid candidates (paper ids, in fusion order) and the learned ranker's
        features for them: what `bench/train_ranker.py` learns from."""
        query = parse_query(text)
        keyword = self._keyword_searcher()
        vectors = self._vector_searcher()
        if vectors is None or not query.semantic_text:
            raise SearchUnavailable("ranking features need a semantic index and free words")
        vector = self.embedder().encode([query.semantic_text])[0]
        semantic = self._semantic_hits(query, keyword, vectors, vector, HYBRID_CANDIDATES)
        hits = keyword.search_keys(query, limit=HYBRID_CANDIDATES)
        found = self._hybrid_candidates(hits.scored, vectors, vector, semantic)
        ids = keyword.paper_ids_for(found.keys, found=hits)
        rows = self._features(query, keyword, found)
        keep = [row for row, key in enumerate(found.keys) if key in ids]
        return [ids[found.keys[row]] for row in keep], rows[keep]

    def _semantic_hits(
        self,
        query: ParsedQuery,
        keyword: KeywordSearcher,
        vectors: VectorSearcher,
        vector: np.ndarray,
        limit: int,
    ) -> list[tuple[int, float]]:
        if not (query.phrases or query.excluded or query.filters.active):
            hits = vectors.search(vector, limit=limit)
        else:
            candidates, admitted = keyword.matching_keys(query, cap=EXACT_FILTER_CAP)
            hits = vectors.search(
                vector,
                limit=limit,
                candidates=candidates,
                admits=lambda keys: keyword.admitted(query, keys),
                admitted_share=admitted / max(1, keyword.documents),
            )
        return [(hit.key, hit.score) for hit in hits]

    def _with_papers(self, scored: list[Scored]) -> list[SearchHit]:
        papers = get_papers(self.engine, paper_ids=[paper_id for paper_id, *_ in scored])
        return [
            SearchHit(papers[paper_id], score, keyword_score, semantic_score)
            for paper_id, score, keyword_score, semantic_score in scored
            if paper_id in papers
        ]

    def similar(self, paper_id: str, *, limit: int = 10) -> list[SearchHit]:
        """Papers closest in meaning to one paper (by keywords until its vector reaches this
        node: searching never embeds a paper, the workers do, once for every node)."""
        _check_page(limit, 0)
        paper = get_paper(self.engine, paper_id=paper_id)
        if paper is None:
            raise PaperNotFound(f"no paper with id {paper_id!r}")
        return self._with_papers(self._similar(paper, limit))

    def similar_ids(self, paper: Paper, *, limit: int = 10) -> list[str]:
        """The ids `similar` would answer for a paper the caller has read already, without
        reading the papers (a paper page reads them itself, with its own rules)."""
        _check_page(limit, 0)
        return [paper_id for paper_id, *_ in self._similar(paper, limit)]

    def _similar(self, paper: Paper, limit: int) -> list[Scored]:
        keyword = self._keyword_searcher()
        vectors = self._vector_searcher()
        key = paper_key(paper.paper_id)
        vector = vectors.vector_for(key) if vectors is not None else None
        if vectors is None or vector is None:
            return self._similar_by_keywords(keyword, paper, limit)
        hits = vectors.search(vector, limit=limit, exclude=key)
        ids = keyword.paper_ids_for([hit.key for hit in hits])
        return [(ids[h.key], h.score, None, h.score) for h in hits if h.key in ids]

    def _similar_by_keywords(
        self, keyword: KeywordSearcher, paper: Paper, limit: int
    ) -> list[Scored]:
        query = ParsedQuery(text=paper.title, words=tuple(paper.title.split()))
        hits, _ = keyword.search(query, limit=limit + 1)
        scored: list[Scored] = [
            (h.paper_id, h.score, h.score, None) for h in hits if h.paper_id != paper.paper_id
        ]
        return scored[:limit]
