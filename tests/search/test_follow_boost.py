""" "For you" and follows: a followed author's new paper ranks above an otherwise equal one, a
followed category's less so, each with its reason (ranking/personal.py's follow_boost)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.models import PaperRecord, SourceName
from dailypapers.ranking.personal import (
    FOLLOWED_AUTHOR_BOOST,
    FOLLOWED_CATEGORY_BOOST,
    follow_boost,
)
from dailypapers.search.recommend import Recommender
from dailypapers.search.service import Searcher
from dailypapers.store.accounts import create_user
from dailypapers.store.follows import follow
from dailypapers.store.lists import list_window_papers
from dailypapers.store.papers import LocatedRecord, upsert_papers

NOW = datetime(2026, 12, 1, tzinfo=UTC)
DAY = date(2026, 11, 30)


def test_the_boost_is_small_an_author_weighs_more_than_a_category() -> None:
    assert follow_boost(by_followed_author=False, in_followed_category=False) == 0.0
    author = follow_boost(by_followed_author=True, in_followed_category=False)
    category = follow_boost(by_followed_author=False, in_followed_category=True)
    both = follow_boost(by_followed_author=True, in_followed_category=True)
    assert (author, category) == (FOLLOWED_AUTHOR_BOOST, FOLLOWED_CATEGORY_BOOST)
    assert 0 < category < author < both <= 2.0


def test_a_followed_authors_paper_ranks_above_an_otherwise_equal_one(
    engine: sa.Engine, settings: Settings
) -> None:
    records = [
        PaperRecord(
            SourceName.ARXIV_OAI,
            f"Equal paper {n}",
            f"2611.0000{n}",
            authors=[name],
            categories=[category],
            daily_date=DAY,
        )
        for n, (name, category) in enumerate(
            [("Ann Other", "cs.LG"), ("Bea Other", "cs.CV"), ("Grace Hopper", "cs.LG")], 1
        )
    ]
    upsert_papers(
        engine, [LocatedRecord(r, "test", str(n)) for n, r in enumerate(records)], now=NOW
    )
    pool = list_window_papers(engine, first_day=DAY, last_day=DAY)
    reader = create_user(engine, username="ada", password_hash="x", email=None, now=NOW).user_id
    recommender = Recommender(engine, settings, Searcher(engine, settings))
    before = recommender.recommend(user_id=reader, candidates=pool, limit=3)
    assert [p.paper_id for p in before.picks] == ["2611.00001", "2611.00002", "2611.00003"]
    follow(
        engine, user_id=reader, kind="author", target="grace hopper", label="Grace Hopper", now=NOW
    )
    follow(engine, user_id=reader, kind="category", target="cs.CV", label="cs.CV", now=NOW)
    after = recommender.recommend(user_id=reader, candidates=pool, limit=3)
    assert [(p.paper_id, p.reason) for p in after.picks] == [
        ("2611.00003", "by Grace Hopper, whom you follow"),
        ("2611.00002", "in cs.CV, a category you follow"),
        ("2611.00001", "popular now; upvote, save or collect papers to personalise"),
    ]
