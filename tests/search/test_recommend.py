""" "For you" on real papers with real embeddings: a reader who upvotes computer-vision papers
is shown computer vision, with the liked paper that explains each pick; marks retrain it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from dailypapers.config import Settings, load_settings
from dailypapers.digest.periods import digest_period
from dailypapers.digest.select import DigestSelector
from dailypapers.index.build import build_indexes
from dailypapers.index.embeddings import Embedder
from dailypapers.ingest.files import ImportOptions, import_paths
from dailypapers.search.recommend import Recommender
from dailypapers.search.service import Searcher
from dailypapers.store.accounts import create_user
from dailypapers.store.engine import open_store
from dailypapers.store.lists import ListedPaper, list_window_papers
from dailypapers.store.marks import get_model, set_mark
from dailypapers.store.schema import papers as papers_table
from dailypapers.store.subscriptions import Preferences, save_subscription
from dailypapers.store.votes import record_vote

NOW = datetime(2026, 1, 16, tzinfo=UTC)


@dataclass
class Corpus:
    engine: sa.Engine
    settings: Settings
    papers: list[ListedPaper]


@pytest.fixture(scope="module")
def corpus(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory, minilm: Embedder
) -> Iterator[Corpus]:
    """One day of real arXiv cs listings (212 distinct papers, most cs.CL or cs.CV), embedded."""
    settings = load_settings({}, home=tmp_path_factory.mktemp("foryou") / "home")
    engine = open_store(settings)
    options = ImportOptions(format="auto", reference_date=date(2026, 1, 15), batch_size=500)
    import_paths(engine, [shared_data / "arxiv-cs-2025" / "2026-01-15.jsonl"], options, now=NOW)
    build_indexes(engine, settings, embedder=minilm)
    # The listing records carry no dates; the file is the listing of one day.
    with engine.begin() as conn:
        conn.execute(sa.update(papers_table).values(list_date=date(2026, 1, 15)))
    papers = list_window_papers(engine, first_day=date(1990, 1, 1), last_day=date(2100, 1, 1))
    assert len(papers) > 200
    yield Corpus(engine, settings, papers)
    engine.dispose()


def _reader(corpus: Corpus, name: str) -> int:
    user = create_user(corpus.engine, username=name, password_hash="x", email=None, now=NOW)
    return user.user_id


def _primary(corpus: Corpus, paper_id: str) -> str:
    return next(p.categories[0] for p in corpus.papers if p.paper_id == paper_id)


def test_picks_follow_what_the_reader_upvoted(corpus: Corpus, minilm: Embedder) -> None:
    reader = _reader(corpus, "vision")
    liked = [p.paper_id for p in corpus.papers if p.categories[0] == "cs.CV"][:5]
    for paper_id in liked:
        record_vote(corpus.engine, user_id=reader, paper_id=paper_id, now=NOW)
    recommender = Recommender(
        corpus.engine, corpus.settings, Searcher(corpus.engine, corpus.settings, embedder=minilm)
    )
    found = recommender.recommend(user_id=reader, candidates=corpus.papers, limit=10)
    assert found.mode == "personal" and len(found.picks) == 10
    picked = [pick.paper_id for pick in found.picks]
    assert not set(picked) & set(liked)  # what the reader voted on is not recommended back
    vision = sum(_primary(corpus, pid) == "cs.CV" for pid in picked)
    share = sum(p.categories[0] == "cs.CV" for p in corpus.papers) / len(corpus.papers)
    assert vision >= 8, f"only {vision}/10 picks are cs.CV (the day is {share:.0%} cs.CV)"
    for pick in found.picks:
        assert pick.because_of in liked and pick.reason.startswith("like “")


def test_not_interested_removes_a_pick_and_retrains(corpus: Corpus, minilm: Embedder) -> None:
    reader = _reader(corpus, "language")
    liked = [p.paper_id for p in corpus.papers if p.categories[0] == "cs.CL"][:4]
    for paper_id in liked:
        set_mark(corpus.engine, user_id=reader, paper_id=paper_id, mark="saved", now=NOW)
    recommender = Recommender(
        corpus.engine, corpus.settings, Searcher(corpus.engine, corpus.settings, embedder=minilm)
    )
    first = recommender.recommend(user_id=reader, candidates=corpus.papers, limit=10)
    stamp = get_model(corpus.engine, user_id=reader).feedback_stamp  # type: ignore[union-attr]
    top = first.picks[0].paper_id
    set_mark(corpus.engine, user_id=reader, paper_id=top, mark="not_interested", now=NOW)
    second = recommender.recommend(user_id=reader, candidates=corpus.papers, limit=10)
    assert top not in [pick.paper_id for pick in second.picks]
    assert get_model(corpus.engine, user_id=reader).feedback_stamp != stamp  # type: ignore[union-attr]


def test_saved_searches_and_cold_start(corpus: Corpus, minilm: Embedder) -> None:
    reader = _reader(corpus, "newcomer")
    recommender = Recommender(
        corpus.engine, corpus.settings, Searcher(corpus.engine, corpus.settings, embedder=minilm)
    )
    cold = recommender.recommend(
        user_id=reader, candidates=corpus.papers, limit=10, categories=["cs.IT"]
    )
    assert cold.mode == "categories"
    assert all(_primary(corpus, p.paper_id) == "cs.IT" or "cs.IT" in p.reason for p in cold.picks)
    assert all(p.reason == "in cs.IT, a category you follow" for p in cold.picks)
    searched = recommender.recommend(
        user_id=reader, candidates=corpus.papers, limit=10, searches=['"speech" -translation']
    )
    matched = [p for p in searched.picks if p.reason.startswith("matches your saved search")]
    assert matched, "no paper of the day matched the saved search"
    assert searched.picks[: len(matched)] == matched  # matches come first
    popular = recommender.recommend(user_id=None, candidates=corpus.papers, limit=5)
    assert popular.mode == "popular" and len(popular.picks) == 5


def test_a_digest_for_you_section_explains_each_pick(corpus: Corpus, minilm: Embedder) -> None:
    reader = _reader(corpus, "digest-reader")
    liked = [p.paper_id for p in corpus.papers if p.categories[0] == "cs.CV"][5:10]
    for paper_id in liked:
        record_vote(corpus.engine, user_id=reader, paper_id=paper_id, now=NOW)
    prefs = Preferences(include_for_you=True, include_trending=True, searches=("speech",))
    saved, _ = save_subscription(corpus.engine, email="r@example.org", preferences=prefs,
                                 now=NOW, user_id=reader)  # fmt: skip
    period = digest_period("daily", date(2026, 1, 15), lookback_days=1)
    searcher = Searcher(corpus.engine, corpus.settings, embedder=minilm)
    selector = DigestSelector(corpus.engine, corpus.settings, period, searcher)
    sections = selector.sections(saved, already_sent=set())
    titles = [section.title for section in sections]
    assert titles == ["For you", "Saved search: speech", "Trending"]
    for_you = sections[0].items
    assert len(for_you) == 10
    assert all(item.reason and item.reason.startswith("like “") for item in for_you)
    assert sum(_primary(corpus, item.paper.paper_id) == "cs.CV" for item in for_you) >= 8
    shown = [item.paper.paper_id for section in sections for item in section.items]
    assert len(shown) == len(set(shown))  # a paper is in one section only
