"""Periods of the lists: parsing, bounds, neighbours across year ends and ISO weeks."""

from __future__ import annotations

from datetime import date

import pytest

from dailypapers.feeds.periods import PeriodError, parse_period, period_containing


def test_day() -> None:
    day = parse_period("date", "2025-05-01")
    assert (day.start, day.end, day.label) == (date(2025, 5, 1), date(2025, 5, 2), "2025-05-01")
    assert day.previous().label == "2025-04-30" and day.next().label == "2025-05-02"


def test_iso_week_spans_a_year_end() -> None:
    week = parse_period("week", "2025-W01")
    assert week.start == date(2024, 12, 30) and week.end == date(2025, 1, 6)
    assert week.previous().label == "2024-W52" and week.next().label == "2025-W02"
    assert period_containing("week", date(2025, 5, 1)).label == "2025-W18"


def test_month_wraps_december() -> None:
    month = parse_period("month", "2024-12")
    assert month.end == date(2025, 1, 1)
    assert month.next().label == "2025-01" and month.previous().label == "2024-11"
    assert month.title == "December 2024"


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("date", "2025-02-30"),
        ("date", "2025-5-1"),
        ("date", "yesterday"),
        ("week", "2025-W54"),
        ("week", "2025-18"),
        ("month", "2025-13"),
        ("month", "2025-05-01"),
    ],
)
def test_malformed_periods_name_the_expected_form(kind: str, text: str) -> None:
    with pytest.raises(PeriodError, match=repr(text)):
        parse_period(kind, text)  # type: ignore[arg-type]
