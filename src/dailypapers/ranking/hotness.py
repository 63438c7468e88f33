"""Trending order: votes with time decay, as a pure function whose value can be stored.

hotness = log10(max(score, 1)) + age_seconds / DECADE_S, where age is counted from a fixed
epoch to the moment the paper joined a list. Each DECADE_S (one day) a paper's vote weight
falls tenfold relative to newer papers: a paper with 10 votes ties one with 1 vote listed a
day later, and 100 votes ties 1 vote two days later. Because the decay is in the newer papers'
favour rather than in the clock, the value never changes while a paper gets no votes, so it is
stored on the paper, recomputed in the same transaction as each vote, and the trending list is
a read of one indexed column (the reddit/lobsters form of exponential decay).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
DECADE_S = 86_400.0


def hotness(score: int, listed_at: datetime) -> float:
    """The stored trending value of a paper with `score` votes that joined a list at `listed_at`."""
    age_s = (listed_at - EPOCH).total_seconds()
    return round(math.log10(max(score, 1)) + age_s / DECADE_S, 7)


def listed_at(list_date: date | None, published: datetime | None, created_at: datetime) -> datetime:
    """When a paper joined the lists: its list day, else publication, else when it was stored."""
    if list_date is not None:
        return datetime.combine(list_date, time(0), UTC)
    return published if published is not None else created_at
