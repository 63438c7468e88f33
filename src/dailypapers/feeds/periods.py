"""List periods (a day, an ISO week, a month): parsing, bounds and neighbours. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

PeriodKind = Literal["date", "week", "month"]

_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# Every period links to its neighbours, so the first and last years `date` can hold are out.
MIN_YEAR, MAX_YEAR = 2, 9998


class PeriodError(ValueError):
    """A period text that is not a valid day, week or month."""


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open range of list days [start, end) with its canonical label."""

    kind: PeriodKind
    start: date
    end: date

    @property
    def label(self) -> str:
        if self.kind == "date":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start.year}-{self.start.month:02d}"

    @property
    def title(self) -> str:
        if self.kind == "date":
            return self.start.strftime("%A, %d %B %Y")
        if self.kind == "week":
            last = self.end - timedelta(days=1)
            return f"Week {self.label} ({self.start:%d %b} - {last:%d %b %Y})"
        return self.start.strftime("%B %Y")

    def previous(self) -> Period:
        return period_containing(self.kind, self.start - timedelta(days=1))

    def next(self) -> Period:
        return period_containing(self.kind, self.end)


def period_containing(kind: PeriodKind, day: date) -> Period:
    """The day, ISO week (Monday first) or month that contains `day`."""
    if kind == "date":
        return Period(kind, day, day + timedelta(days=1))
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        return Period(kind, start, start + timedelta(days=7))
    start = day.replace(day=1)
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return Period(kind, start, end)


def parse_period(kind: PeriodKind, text: str) -> Period:
    """`2025-05-01` (date), `2025-W18` (week) or `2025-05` (month); PeriodError if malformed."""
    year = int(text[:4]) if text[:4].isdigit() else MIN_YEAR
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PeriodError(
            f"{text!r} is not a valid {kind}: use a year from {MIN_YEAR} to {MAX_YEAR}"
        )
    try:
        if kind == "date" and (m := _DAY.match(text)):
            return period_containing(kind, date(int(m[1]), int(m[2]), int(m[3])))
        if kind == "week" and (m := _WEEK.match(text)):
            return period_containing(kind, date.fromisocalendar(int(m[1]), int(m[2]), 1))
        if kind == "month" and (m := _MONTH.match(text)):
            return period_containing(kind, date(int(m[1]), int(m[2]), 1))
    except ValueError as error:
        raise PeriodError(f"{text!r} is not a valid {kind}: {error}") from None
    examples = {"date": "2025-05-01", "week": "2025-W18", "month": "2025-05"}
    raise PeriodError(f"{text!r} is not a valid {kind}; expected the form {examples[kind]}")
