"""Keyword, semantic and hybrid search on real papers: ranking, phrases, exclusions, filters."""

from __future__ import annotations

import math
import statistics

import pytest

from dailypapers.models import SearchMode
from dailypapers.search.query import Filters, QueryError
from dailypapers.search.service import PaperNotFound
from tests.search.conftest import Corpus, SciFactSample


def _ndcg10(ranked: list[str], relevant: dict[str, int]) -> float:
    gain = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sum(1 / math.log2(i + 2) for i in range(min(10, len(relevant))))
    return gain / ideal


@pytest.mark.parametrize(("mode", "floor"), [("keyword", 0.6), ("semantic", 0.6), ("hybrid", 0.7)])
def test_relevant_scifact_abstracts_rank_first(
    corpus: Corpus, scifact_sample: SciFactSample, mode: SearchMode, floor: float
) -> None:
    scores = []
    for query_id, relevant in scifact_sample.qrels.items():
        results = corpus.searcher.search(scifact_sample.queries[query_id], mode=mode, limit=10)
        scores.append(_ndcg10([hit.paper_id for hit in results.hits], relevant))
    assert statistics.fmean(scores) >= floor


def test_keyword_hits_report_totals_and_scores(corpus: Corpus) -> None:
    results = corpus.searcher.search("graph decompositions", mode="keyword", limit=5)
    assert results.hits[0].paper_id == "0704.0002"
    assert results.total is not None and results.total >= len(results.hits)
    scores = [hit.score for hit in results.hits]
    assert scores == sorted(scores, reverse=True)


def test_phrase_must_appear(corpus: Corpus) -> None:
    results = corpus.searcher.search('"prompt diphoton"', mode="keyword", limit=10)
    assert [hit.paper_id for hit in results.hits] == ["0704.0001"]
    # The words alone, in another order, are not the phrase.
    assert corpus.searcher.search('"diphoton prompt"', mode="keyword").hits == []


def test_excluded_words_never_appear(corpus: Corpus) -> None:
    everything = corpus.searcher.search("graph", mode="keyword", limit=50).hits
    assert any("decomposition" in (h.paper.title + h.paper.abstract).lower() for h in everything)
    for mode in ("keyword", "semantic", "hybrid"):
        hits = corpus.searcher.search("graph -decompositions", mode=mode, limit=50).hits
        assert hits
        for hit in hits:
            assert "decomposition" not in (hit.paper.title + hit.paper.abstract).lower()


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_category_author_and_date_filters_hold_in_every_mode(
    corpus: Corpus, mode: SearchMode
) -> None:
    hits = corpus.searcher.search("graphs and combinatorics cat:math.CO", mode=mode, limit=50).hits
    assert hits and all("math.CO" in hit.paper.categories for hit in hits)
    hits = corpus.searcher.search("prompt photon pairs author:balazs", mode=mode).hits
    assert [hit.paper_id for hit in hits] == ["0704.0001"]
    hits = corpus.searcher.search("quantum from:2007-04-01", mode=mode, limit=50).hits
    assert hits
    assert all(
        h.paper.published and h.paper.published.date().isoformat() >= "2007-04-01" for h in hits
    )


def test_filters_can_come_as_parameters(corpus: Corpus) -> None:
    filters = Filters(authors=("Louis Theran",))
    hits = corpus.searcher.search("graphs", mode="hybrid", filters=filters).hits
    assert [hit.paper_id for hit in hits] == ["0704.0002"]


def test_filter_only_query_lists_matches(corpus: Corpus) -> None:
    results = corpus.searcher.search("cat:math.CO", mode="hybrid", limit=100)
    assert results.hits and all("math.CO" in hit.paper.categories for hit in results.hits)
    assert results.notices  # ranked by keywords: no words to compare by meaning
    assert results.mode == "keyword"  # the results say what ranked them
    assert corpus.searcher.search("graphs", mode="hybrid").mode == "hybrid"


def test_latex_and_unicode_queries(corpus: Corpus) -> None:
    hits = corpus.searcher.search(r"dyadic $\Lambda_{\alpha}$", mode="keyword").hits
    assert hits[0].paper_id == "0704.0005"
    assert corpus.searcher.search("Schrödinger équation ∂ψ/∂t", mode="hybrid").hits is not None


def test_long_natural_language_query_uses_or_semantics(corpus: Corpus) -> None:
    query = (
        "I am looking for work on counting unlabeled acyclic single-source automata with a "
        "determinant of Stirling cycle numbers, or anything close to that combinatorics"
    )
    hits = corpus.searcher.search(query, mode="keyword", limit=5).hits
    assert hits[0].paper_id == "0704.0004"


@pytest.mark.parametrize("text", ["", "x" * 10_000])
def test_bad_queries_raise_clear_errors(corpus: Corpus, text: str) -> None:
    with pytest.raises(QueryError):
        corpus.searcher.search(text)


def test_page_limits_are_checked(corpus: Corpus) -> None:
    with pytest.raises(QueryError, match="limit"):
        corpus.searcher.search("graphs", limit=0)
    with pytest.raises(QueryError, match="offset"):
        corpus.searcher.search("graphs", offset=5000)


def test_pages_do_not_overlap(corpus: Corpus) -> None:
    for mode in ("keyword", "hybrid"):
        first = corpus.searcher.search("graph", mode=mode, limit=5).hits
        second = corpus.searcher.search("graph", mode=mode, limit=5, offset=5).hits
        assert not {h.paper_id for h in first} & {h.paper_id for h in second}


def test_similar_papers(corpus: Corpus) -> None:
    hits = corpus.searcher.similar("arXiv:0704.0010v2", limit=5)
    assert len(hits) == 5
    assert "0704.0010" not in [hit.paper_id for hit in hits]
    # Combinatorics papers are closest to a combinatorics paper.
    assert sum("math.CO" in hit.paper.categories for hit in hits) >= 2
    with pytest.raises(PaperNotFound):
        corpus.searcher.similar("9999.99999")
