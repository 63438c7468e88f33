"""Faster forms of the same keyword queries give the same answers: free words alone are
searched as a bare union, and paper keys are found by lookups or by a term set alike; a
hybrid search's keyword half runs on threads, in a forked process too."""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection

import numpy as np
import pytest
import sqlalchemy as sa
import tantivy

from dailypapers.index.keys import paper_key
from dailypapers.search import keyword
from dailypapers.search.query import parse_query
from dailypapers.search.service import Searcher
from dailypapers.store.schema import papers
from tests.search.conftest import Corpus


def test_free_words_score_as_the_required_union(corpus: Corpus) -> None:
    searcher = corpus.searcher.keyword_index()
    query = parse_query("graph neural networks for molecules")
    bare = searcher.build_query(query)
    ranked = searcher._ranked_words(query.words)
    either = tantivy.Query.boolean_query([(tantivy.Occur.Should, c) for c in ranked])
    required = tantivy.Query.boolean_query([(tantivy.Occur.Must, either)])
    found = searcher._searcher.search(bare, limit=500, count=True)
    expected = searcher._searcher.search(required, limit=500, count=True)
    assert found.count == expected.count > 20
    assert [round(s, 5) for s, _ in found.hits] == [round(s, 5) for s, _ in expected.hits]


@pytest.mark.parametrize("text", ["cat:math.CO", 'networks "graph"', "learning -neural"])
def test_paper_keys_found_by_lookups_and_by_term_set_alike(
    corpus: Corpus, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    searcher = corpus.searcher.keyword_index()
    with corpus.engine.connect() as conn:
        stored = [paper_key(pid) for pid in conn.execute(sa.select(papers.c.paper_id)).scalars()]
    # More keys than any threshold, some of papers that do not exist.
    absent = [paper_key(f"absent-{n}") for n in range(700)]
    keys = np.asarray(stored + absent, np.uint64)
    query = parse_query(text)
    masks = {}
    for form, most in (("lookups", 10**9), ("term set", 0)):
        monkeypatch.setattr(keyword, "KEY_LOOKUPS_MAX", most)
        masks[form] = searcher.admitted(query, keys)
    assert masks["lookups"].tolist() == masks["term set"].tolist()
    assert 0 < masks["lookups"].sum() < len(stored)
    assert not masks["lookups"][len(stored) :].any()


def _search_in_child(searcher: Searcher, out: Connection) -> None:
    searcher.engine.dispose(close=False)  # the parent's database connections stay its own
    hits = searcher.search("graph neural networks", mode="hybrid", limit=5).hits
    out.send([hit.paper.paper_id for hit in hits])


def test_a_forked_process_runs_hybrid_keyword_searches_on_threads_of_its_own(
    corpus: Corpus,
) -> None:
    """The keyword half of a hybrid search runs on the searcher's threads, which a forked
    process does not inherit. (With the site's query encoder: PyTorch's threads do not
    survive a fork either.)"""
    searcher = Searcher(corpus.engine, corpus.settings)
    hits = searcher.search("graph neural networks", mode="hybrid", limit=5).hits
    expected = [hit.paper.paper_id for hit in hits]
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_search_in_child, args=(searcher, send))
    child.start()
    try:
        assert receive.poll(60), "the forked search did not answer"
        assert receive.recv() == expected
    finally:
        child.kill()
        child.join()
    assert len(expected) == 5


def test_paper_ids_of_keyword_hits_are_read_where_the_search_found_them(corpus: Corpus) -> None:
    """A hybrid search shows papers its keyword half found: their ids are read at the
    addresses that search returned; other keys are looked up; unknown keys are left out."""
    searcher = corpus.searcher.keyword_index()
    hits = searcher.search_keys(parse_query("graph neural"), limit=30)
    found = [key for key, _ in hits.scored]
    assert set(hits.addresses) == set(found)
    with corpus.engine.connect() as conn:
        stored = [paper_key(pid) for pid in conn.execute(sa.select(papers.c.paper_id)).scalars()]
    others = [key for key in stored if key not in found][:5]
    keys = found[:10] + others + [paper_key("absent")]
    ids = searcher.paper_ids_for(keys, found=hits)
    assert ids == searcher.paper_ids_for(keys)  # every key looked up
    assert set(ids) == set(found[:10] + others)
