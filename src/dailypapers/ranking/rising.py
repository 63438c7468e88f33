"""The fastest-rising topics: title terms and categories whose share of the papers grew most.

A pure function over plain rows (list day, title, categories): no database, no clock. The
`trends` task runs it over the papers of the last 16 weeks and stores what it finds.

Definitions (docs/web.md#trends):

- the **recent** window is the `recent_days` (28) ending on the newest list day, the **before**
  window the `before_days` (84) before it;
- a paper's **terms** are the words of its title (LaTeX as text, lower case, hyphenated words
  kept whole, numbers, one-letter words and stop words left out) and the pairs of adjacent
  words with no stop word or punctuation between them ("state space", "test-time scaling");
- a topic's **share** in a window is the fraction of the window's papers that have it, and its
  **growth** is recent share / before share, the before count taken as one more than it is, so
  a topic new to the recent window gets a finite growth that still grows with its count;
- small counts vary a lot by chance, so topics are ranked by a cautious growth, `growth_low`:
  the growth divided by e^(2 × its standard error), sqrt(1 / recent + 1 / (before + 1)) on the
  log scale (counts taken as Poisson), about the lowest growth the counts make plausible; a
  topic needs at least `min_papers` (10) recent papers, at least one in 1,000 of them, and
  `growth_low` > 1 (its share grew by more than chance would explain);
- a term most of whose recent papers (60 %) also have a higher-ranked term is left out: it
  names the same papers, so "state space", "space models" and "state" take one place. Among
  equals, a pair of words comes before a single word (it says more).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from dailypapers.latex import latex_to_text

RECENT_DAYS = 28
BEFORE_DAYS = 84
MIN_PAPERS = 10
MIN_SHARE_OF_RECENT = 1 / 1000
SAME_TOPIC_OVERLAP = 0.6
CAUTION = 2.0  # standard errors taken off a topic's log growth before ranking
TopicKind = Literal["term", "category"]

_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
# A pair of words never spans punctuation: "Mamba: state" is no topic.
_CLAUSE_BREAK = re.compile(r"[,:;.!?()\[\]{}\"“”]|\s[-–—]\s")
# Words that carry no topic: they end a pair instead of joining one.
STOP_WORDS = frozenset(
    """
    a an the and but or nor if as of at by for with without about into onto to from in on
    over under up down out off via vs versus per than then that this these those there their
    its it is are was were be been being has have had do does did can could would should will
    may might must shall we our you your they them he she his her who whom whose which what
    when where why how not no all any each every both few more most other some such only own
    same so too very s t just also new using use used towards toward based beyond through
    across between within among against during before after above below again further once
    here how while
    """.split()
)


@dataclass(frozen=True, slots=True)
class TitledPaper:
    """What the rising topics are computed from: one visible listed paper."""

    list_date: date
    title: str
    categories: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RisingTopic:
    topic: str
    kind: TopicKind
    recent: int  # papers of the recent window with the topic
    before: int  # papers of the before window with it
    recent_share: float
    before_share: float
    growth: float
    growth_low: float  # the cautious growth topics are ranked by
    weekly: tuple[int, ...]  # papers with it per 7-day block, oldest first (both windows)


@dataclass(frozen=True, slots=True)
class RisingReport:
    last_day: date
    recent_start: date
    before_start: date
    recent_papers: int
    before_papers: int
    weekly_papers: tuple[int, ...]  # every paper per 7-day block, oldest first
    min_papers: int
    terms: tuple[RisingTopic, ...]
    categories: tuple[RisingTopic, ...]


def title_terms(title: str) -> set[str]:
    """The words of a title and its pairs of adjacent words (no stop word in a pair)."""
    terms: set[str] = set()
    for clause in _CLAUSE_BREAK.split(latex_to_text(title).lower()):
        terms |= _clause_terms(clause)
    return terms


def _clause_terms(clause: str) -> set[str]:
    terms: set[str] = set()
    previous: str | None = None
    for word in _WORD.findall(clause):
        if word in STOP_WORDS or len(word) < 2 or word.replace("-", "").isdigit():
            previous = None
            continue
        terms.add(word)
        if previous is not None:
            terms.add(f"{previous} {word}")
        previous = word
    return terms


@dataclass(slots=True)
class _Tally:
    """Which topics each paper has, counted per window and per 7-day block."""

    blocks: int
    recent: Counter[str]
    before: Counter[str]
    weekly: defaultdict[str, list[int]]
    recent_papers: dict[str, list[int]]  # topic -> indices of its recent papers

    @classmethod
    def empty(cls, blocks: int) -> _Tally:
        return cls(blocks, Counter(), Counter(), defaultdict(lambda: [0] * blocks), {})

    def add(self, topics: Iterable[str], *, block: int, recent: bool, paper: int) -> None:
        for topic in topics:
            self.weekly[topic][block] += 1
            if recent:
                self.recent[topic] += 1
                self.recent_papers.setdefault(topic, []).append(paper)
            else:
                self.before[topic] += 1


def rising_topics(
    papers: Iterable[TitledPaper],
    *,
    last_day: date,
    recent_days: int = RECENT_DAYS,
    before_days: int = BEFORE_DAYS,
    min_papers: int = MIN_PAPERS,
    limit: int = 10,
) -> RisingReport:
    """The `limit` fastest-rising title terms and categories up to `last_day` (see above)."""
    recent_start = last_day - timedelta(days=recent_days - 1)
    before_start = recent_start - timedelta(days=before_days)
    blocks = (recent_days + before_days + 6) // 7
    terms, categories = _Tally.empty(blocks), _Tally.empty(blocks)
    weekly_papers = [0] * blocks
    counts = {True: 0, False: 0}
    for paper in papers:
        if not before_start <= paper.list_date <= last_day:
            continue
        recent = paper.list_date >= recent_start
        block = blocks - 1 - (last_day - paper.list_date).days // 7
        weekly_papers[block] += 1
        number = counts[recent]
        counts[recent] += 1
        terms.add(title_terms(paper.title), block=block, recent=recent, paper=number)
        categories.add(set(paper.categories), block=block, recent=recent, paper=number)
    floor = max(min_papers, int(counts[True] * MIN_SHARE_OF_RECENT))
    totals = (counts[True], counts[False])
    ranked_terms = _ranked(terms, "term", totals, floor)
    return RisingReport(
        last_day=last_day,
        recent_start=recent_start,
        before_start=before_start,
        recent_papers=counts[True],
        before_papers=counts[False],
        weekly_papers=tuple(weekly_papers),
        min_papers=floor,
        terms=tuple(_distinct_terms(ranked_terms, terms.recent_papers, limit)),
        categories=tuple(_ranked(categories, "category", totals, floor)[:limit]),
    )


def _ranked(
    tally: _Tally, kind: TopicKind, totals: tuple[int, int], floor: int
) -> list[RisingTopic]:
    recent_total, before_total = totals
    if not recent_total:
        return []
    found = []
    for topic, recent in tally.recent.items():
        if recent < floor:
            continue
        before = tally.before[topic]
        recent_share = recent / recent_total
        # One more paper than seen before: a topic new to the recent window rises by a finite
        # factor that still grows with its recent count.
        smoothed = (before + 1) / max(before_total, 1)
        growth = recent_share / smoothed
        low = growth / math.exp(CAUTION * math.sqrt(1 / recent + 1 / (before + 1)))
        if low <= 1:
            continue
        before_share = before / before_total if before_total else 0.0
        weekly = tuple(tally.weekly[topic])
        found.append(
            RisingTopic(
                topic, kind, recent, before, recent_share, before_share, growth, low, weekly
            )
        )
    found.sort(key=lambda t: (-t.growth_low, -t.recent, " " not in t.topic, t.topic))
    return found


def _distinct_terms(
    ranked: Sequence[RisingTopic], papers_of: dict[str, list[int]], limit: int
) -> list[RisingTopic]:
    """The ranked terms less those whose papers mostly have a higher-ranked term too."""
    chosen: list[RisingTopic] = []
    chosen_papers: list[set[int]] = []
    for topic in ranked:
        if len(chosen) == limit:
            break
        mine = set(papers_of.get(topic.topic, ()))
        needed = SAME_TOPIC_OVERLAP * len(mine)
        if any(len(mine & theirs) >= needed for theirs in chosen_papers):
            continue
        chosen.append(topic)
        chosen_papers.append(mine)
    return chosen
