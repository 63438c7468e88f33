""" "For you" from an imported library, with real embeddings: a reader with no votes who
brings a BibTeX file of vision papers (matched by title) gets vision picks on day one, each
explained by a paper of their library; emptying the library retrains back to the cold start."""

from __future__ import annotations

from datetime import UTC, datetime

from dailypapers.index.embeddings import Embedder
from dailypapers.ingest.library import run_library_import
from dailypapers.search.recommend import Recommender
from dailypapers.search.service import Searcher
from dailypapers.store.accounts import create_user
from dailypapers.store.collections import create_collection, delete_collection
from dailypapers.store.marks import get_model
from dailypapers.store.papers import get_papers
from tests.search.test_recommend import Corpus, corpus

__all__ = ["corpus"]  # the module's fixture, shared
NOW = datetime(2026, 1, 16, tzinfo=UTC)


def _bibtex(titles: list[str]) -> str:
    return "\n".join(
        f"@article{{entry{n},\n  title = {{{title}}},\n  year = {{2025}}\n}}"
        for n, title in enumerate(titles)
    )


def test_an_imported_library_seeds_for_you(corpus: Corpus, minilm: Embedder) -> None:
    engine = corpus.engine
    reader = create_user(engine, username="librarian", password_hash="x", email=None, now=NOW)
    recommender = Recommender(
        engine, corpus.settings, Searcher(engine, corpus.settings, embedder=minilm)
    )
    cold = recommender.recommend(user_id=reader.user_id, candidates=corpus.papers, limit=10)
    assert cold.mode == "popular"

    vision = [p for p in corpus.papers if p.categories[0] == "cs.CV"][10:15]
    stored = get_papers(engine, paper_ids=[p.paper_id for p in vision])
    titles = [stored[p.paper_id].title for p in vision]
    library = create_collection(engine, owner_id=reader.user_id, name="Zotero", now=NOW)
    report = run_library_import(
        engine,
        corpus.settings,
        data=_bibtex(titles).encode(),
        origin="zotero.bib",
        collection_id=library.collection_id,
        user_id=reader.user_id,
        now=NOW,
    )
    assert report.counts["matched"] == 5 and all(o.matched_by == "title" for o in report.outcomes)

    found = recommender.recommend(user_id=reader.user_id, candidates=corpus.papers, limit=10)
    assert found.mode == "personal"
    picked = [pick.paper_id for pick in found.picks]
    liked = {p.paper_id for p in vision}
    assert not set(picked) & liked  # the library is not recommended back
    primary = {p.paper_id: p.categories[0] for p in corpus.papers}
    assert sum(primary[pid] == "cs.CV" for pid in picked) >= 8
    assert all(pick.because_of in liked for pick in found.picks)
    stamp = get_model(engine, user_id=reader.user_id).feedback_stamp  # type: ignore[union-attr]

    delete_collection(engine, collection_id=library.collection_id)
    after = recommender.recommend(user_id=reader.user_id, candidates=corpus.papers, limit=10)
    assert after.mode == "popular"
    assert get_model(engine, user_id=reader.user_id).feedback_stamp == stamp  # nothing trained
