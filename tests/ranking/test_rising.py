"""The fastest-rising topics (pure): title terms, windows, the cautious growth, the floor, and one
place per topic."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from dailypapers.ranking.rising import TitledPaper, rising_topics, title_terms

LAST = date(2026, 7, 1)


def _papers(
    title: str, count: int, first: date, days: int, categories: tuple[str, ...] = ()
) -> list[TitledPaper]:
    """`count` papers titled `title`, spread over the `days` days from `first`."""
    return [
        TitledPaper(first + timedelta(days=n * days // count), title, categories)
        for n in range(count)
    ]


RECENT = LAST - timedelta(days=27)
BEFORE = RECENT - timedelta(days=84)


def _background() -> list[TitledPaper]:
    """The same mix every week: 300 recent papers and 900 before on steady topics."""
    return _papers("Graph neural networks for molecules", 300, RECENT, 28, ("cs.LG",)) + _papers(
        "Graph neural networks for molecules", 900, BEFORE, 84, ("cs.LG",)
    )


def test_title_terms_are_words_and_pairs_within_a_clause() -> None:
    assert title_terms("Mamba: State Space Models for Test-Time Scaling") == {
        "mamba",
        "state",
        "space",
        "models",
        "state space",
        "space models",
        "test-time",
        "scaling",
        "test-time scaling",
    }
    # LaTeX as text, case folded; numbers, one-letter words and stop words make no term.
    assert title_terms(r"\emph{Gr\"obner} bases in 3 steps: a survey") == {
        "gröbner",
        "bases",
        "gröbner bases",
        "steps",
        "survey",
    }


def test_a_new_topic_rises_and_a_steady_one_does_not() -> None:
    papers = _background() + _papers("Agentic retrieval for science", 30, RECENT, 28, ("cs.IR",))
    report = rising_topics(papers, last_day=LAST)
    assert (report.recent_papers, report.before_papers) == (330, 900)
    assert (report.recent_start, report.before_start) == (RECENT, BEFORE)
    # One place for the topic: its words and pairs all come with the same 30 papers, and a
    # pair says more than a word.
    assert [t.topic for t in report.terms] == ["agentic retrieval"]
    first = report.terms[0]
    assert (first.recent, first.before) == (30, 0)
    assert first.recent_share == pytest.approx(30 / 330)
    assert first.growth == pytest.approx((30 / 330) / (1 / 900))
    cautious = first.growth / math.exp(2 * math.sqrt(1 / 30 + 1 / 1))
    assert first.growth_low == pytest.approx(cautious)
    assert [c.topic for c in report.categories] == ["cs.IR"]
    assert sum(first.weekly) == 30 and first.weekly[:12] == (0,) * 12


def test_small_counts_need_more_growth_than_large_ones() -> None:
    # 12 recent papers (4 before) grow more in share than 60 (30 before) but are ranked after
    # them: twelve papers could be chance.
    papers = _background()
    papers += _papers("Diffusion sampling", 12, RECENT, 28) + _papers(
        "Diffusion sampling", 4, BEFORE, 84
    )
    papers += _papers("World models", 60, RECENT, 28) + _papers("World models", 30, BEFORE, 84)
    report = rising_topics(papers, last_day=LAST)
    by_name = {t.topic: t for t in report.terms}
    assert [t.topic for t in report.terms] == ["world models", "diffusion sampling"]
    assert by_name["diffusion sampling"].growth > by_name["world models"].growth
    assert by_name["diffusion sampling"].growth_low < by_name["world models"].growth_low


def test_the_floor_and_the_windows() -> None:
    papers = _background()
    papers += _papers("Rare topic", 9, RECENT, 28)  # under the 10-paper floor
    papers += _papers("Too early", 40, BEFORE - timedelta(days=30), 20)  # before both windows
    papers += _papers("Too late", 40, LAST + timedelta(days=1), 5)  # after the last day
    report = rising_topics(papers, last_day=LAST)
    assert report.min_papers == 10
    assert report.terms == () and report.categories == ()
    assert (report.recent_papers, report.before_papers) == (309, 900)
    assert len(report.weekly_papers) == 16 and sum(report.weekly_papers) == 1209


def test_no_papers_no_topics() -> None:
    report = rising_topics([], last_day=LAST)
    assert (report.terms, report.categories, report.recent_papers) == ((), (), 0)
