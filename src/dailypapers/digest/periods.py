"""Digest periods (pure): which day or ISO week a digest covers, and which lists it draws on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from dailypapers.store.subscriptions import Frequency, Preferences


@dataclass(slots=True, frozen=True)
class DigestPeriod:
    """One digest's period: its label (part of the message key) and its window of list days."""

    frequency: Frequency
    label: str
    day: date
    first_list_day: date
    last_list_day: date

    @property
    def title(self) -> str:
        if self.frequency == "weekly":
            monday = self.day - timedelta(days=self.day.isoweekday() - 1)
            return f"week of {monday:%d %b %Y}"
        return f"{self.day:%a %d %b %Y}"


def digest_period(frequency: Frequency, day: date, *, lookback_days: int) -> DigestPeriod:
    """The period a digest built on `day` covers.

    A daily digest is labelled by its day and draws on the last `lookback_days` list days; a
    weekly one is labelled by the ISO week and draws on six days more. Windows overlap on
    purpose (late-listed papers are not missed); papers sent once are never sent again.
    """
    if frequency == "weekly":
        year, week, _ = day.isocalendar()
        label = f"{year}-W{week:02d}"
        first = day - timedelta(days=6 + lookback_days - 1)
    else:
        label = day.isoformat()
        first = day - timedelta(days=lookback_days - 1)
    return DigestPeriod(frequency, label, day, first, day)


def is_due(preferences: Preferences, day: date) -> bool:
    """Whether a subscriber gets a digest built on `day` (weekends may be skipped)."""
    return not (preferences.skip_weekends and day.isoweekday() >= 6)


def message_key(subscription_id: int, period: DigestPeriod) -> str:
    """The outbox key of a subscriber's digest for a period: built and sent once."""
    return f"digest:{subscription_id}:{period.frequency}:{period.label}"
