"""Digest periods (pure): labels, windows, weekends."""

from __future__ import annotations

from datetime import date

from dailypapers.digest.periods import digest_period, is_due, message_key
from dailypapers.store.subscriptions import Preferences


def test_daily_and_weekly_periods() -> None:
    daily = digest_period("daily", date(2026, 12, 1), lookback_days=3)
    assert (daily.label, daily.first_list_day, daily.last_list_day) == (
        "2026-12-01", date(2026, 11, 29), date(2026, 12, 1),
    )  # fmt: skip
    assert daily.title == "Tue 01 Dec 2026"
    weekly = digest_period("weekly", date(2026, 12, 3), lookback_days=3)
    assert weekly.label == "2026-W49" and weekly.first_list_day == date(2026, 11, 25)
    assert weekly.title == "week of 30 Nov 2026"
    # ISO weeks: 2027-01-01 is in week 53 of 2026.
    assert digest_period("weekly", date(2027, 1, 1), lookback_days=1).label == "2026-W53"
    assert message_key(7, weekly) == "digest:7:weekly:2026-W49"


def test_weekends() -> None:
    weekdays = Preferences(skip_weekends=True)
    assert is_due(weekdays, date(2026, 12, 4))  # Friday
    assert not is_due(weekdays, date(2026, 12, 5)) and not is_due(weekdays, date(2026, 12, 6))
    assert is_due(Preferences(), date(2026, 12, 6))
