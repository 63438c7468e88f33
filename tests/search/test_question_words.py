"""A question is ranked by what it asks about: its function words ("how do I", "whether",
"several") are not search terms, while short words that mean something in paper titles
(few-shot, out-of-distribution, trade-off) still are."""

from __future__ import annotations

from dailypapers.search.query import parse_query
from tests.search.conftest import Corpus


def test_question_words_are_not_search_terms(corpus: Corpus) -> None:
    keyword = corpus.searcher.keyword_index()
    question = "How do I tell whether an essay was written by several people?"
    assert keyword.query_terms(parse_query(question).words) == ["tell", "essay", "written", "peopl"]


def test_short_words_that_name_a_topic_stay(corpus: Corpus) -> None:
    keyword = corpus.searcher.keyword_index()
    words = parse_query("few-shot out-of-distribution trade-off").words
    assert keyword.query_terms(words) == ["few", "shot", "out", "distribut", "trade", "off"]


def test_a_question_finds_what_its_topic_finds(corpus: Corpus) -> None:
    search = corpus.searcher.search
    asked = search("how can I find out which graphs have decompositions?", mode="keyword")
    topic = search("find out graphs decompositions", mode="keyword")
    assert [h.paper_id for h in asked.hits] == [h.paper_id for h in topic.hits]
    assert asked.hits[0].paper_id == "0704.0002"
