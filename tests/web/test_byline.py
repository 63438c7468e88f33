"""A card's byline: the first authors, followed authors further down, "+N" for the rest."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dailypapers.web.cards import byline


@dataclass
class _Paper:
    authors: list[str]
    author_count: int
    url: str = "/papers/2401.00001"


def _names(html: str) -> list[str]:
    return re.findall(r"<a [^>]*>(.*?)</a>", str(html))


def test_followed_authors_further_down_are_named_and_a_gap_shows_an_ellipsis() -> None:
    six = _Paper(["A", "B", "C", "D", "Eve Li", "F"], 6)
    assert _names(byline(six)) == ["A", "B", "C", "+3"]
    followed = str(byline(six, ["eve li"]))
    assert _names(followed) == ["A", "B", "C", "Eve Li", "+2"]
    assert ", …, <a" in followed and 'aria-label="and 2 more authors"' in followed
    next_in_line = str(byline(six, ["d"]))
    assert _names(next_in_line) == ["A", "B", "C", "D", "+2"] and "…" not in next_in_line
    last = str(byline(_Paper(["A", "B", "C", "D"], 4)))
    assert 'aria-label="and 1 more author"' in last
