"""The trending formula: votes decay tenfold per day, and the stored value never needs a clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from dailypapers.ranking.hotness import hotness, listed_at

DAY = datetime(2025, 5, 1, tzinfo=UTC)


def test_more_votes_rank_higher_on_the_same_day() -> None:
    assert hotness(10, DAY) > hotness(9, DAY) > hotness(1, DAY)


def test_ten_times_the_votes_equal_one_day_of_recency() -> None:
    assert hotness(10, DAY) == pytest.approx(hotness(1, DAY + timedelta(days=1)))
    assert hotness(100, DAY) == pytest.approx(hotness(1, DAY + timedelta(days=2)))


def test_a_newer_paper_overtakes_an_older_one_with_fewer_than_tenfold_votes() -> None:
    older = hotness(50, DAY)
    newer = hotness(6, DAY + timedelta(days=1))
    assert newer > older


def test_zero_and_negative_scores_count_as_one_vote() -> None:
    assert hotness(0, DAY) == hotness(1, DAY) == hotness(-5, DAY)


def test_listed_at_prefers_the_list_day() -> None:
    published = datetime(2025, 4, 30, 17, 0, tzinfo=UTC)
    created = datetime(2025, 5, 3, tzinfo=UTC)
    assert listed_at(date(2025, 5, 1), published, created) == DAY
    assert listed_at(None, published, created) == published
    assert listed_at(None, None, created) == created
