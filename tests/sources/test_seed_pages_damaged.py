"""Damaged saved pages: variants of the seed pages built here, and a property over them.

Every title on a damaged page must become exactly one paper, with its own abstract, or one
failure naming its line; no paper may ever take in a neighbour's lines.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dailypapers.models import PaperRecord, RecordError
from dailypapers.sources.seed_pages import parse_seed_page

SAVED_ON = date(2026, 5, 1)
_PAGE_DATE = re.compile(r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}")
TAIL_DAMAGE = ("no_authors", "no_separator", "no_date", "no_tail")
BODY_DAMAGE = ("no_abstract", "repeat_title")


@dataclass(frozen=True)
class Card:
    """One paper as the intact page shows it; `tail` is empty in the list layout."""

    title: str
    abstract: str
    tail: tuple[str, ...]


@dataclass(frozen=True)
class SeedPage:
    name: str
    header: tuple[str, ...]
    cards: tuple[Card, ...]
    expected: Mapping[str, PaperRecord]  # the intact page's papers, by title

    @property
    def list_layout(self) -> bool:
        return not self.cards[0].tail


@dataclass(frozen=True)
class Damaged:
    """A damaged page's text, and the line each card's title is on."""

    text: str
    title_lines: tuple[int, ...]


def _read_page(path: Path) -> SeedPage:
    """The cards of an intact seed page, read by its fixed shape (checked here)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    with path.open("rb") as stream:
        parsed = list(parse_seed_page(stream, origin=path.name, reference_date=SAVED_ON))
    expected = {r.title: r for r in parsed if isinstance(r, PaperRecord)}
    assert len(expected) == len(parsed)
    if lines[2].startswith("Subscribe") and lines[2] != "Subscribe":
        texts = [lines[2].removeprefix("Subscribe")] + [t for t in lines[3:] if t.strip()]
        assert len(texts) % 2 == 0
        cards = [Card(texts[i], texts[i + 1], ()) for i in range(0, len(texts), 2)]
        return SeedPage(path.name, tuple(lines[:2]), tuple(cards), expected)
    date_at = next(i for i, t in enumerate(lines) if _PAGE_DATE.fullmatch(t))
    texts = [t for t in lines[date_at + 1 :] if t.strip()]
    assert len(texts) % 5 == 0
    groups = [texts[i : i + 5] for i in range(0, len(texts), 5)]
    assert all(g[2].lstrip().startswith("•") and g[3] == "·" for g in groups)
    cards = [Card(g[0], g[1], tuple(g[2:])) for g in groups]
    return SeedPage(path.name, tuple(lines[: date_at + 1]), tuple(cards), expected)


def _damage(page: SeedPage, damage: Mapping[int, frozenset[str]], *, blank: int) -> Damaged:
    """The page with each card's damage applied, and `blank` blank lines wherever it had one."""
    out = list(page.header)
    title_lines = []
    for index, card in enumerate(page.cards):
        hurt = damage.get(index, frozenset())
        titles = [card.title] * (2 if "repeat_title" in hurt else 1)
        abstract = [] if "no_abstract" in hurt else [card.abstract]
        tail = [line for i, line in enumerate(card.tail) if not _drops(hurt, i)]
        if page.list_layout:
            if index == 0:
                titles[0] = "Subscribe" + titles[0]
            title_lines.append(len(out) + 1)
            for line in [*titles, *abstract]:
                out += [line] + [""] * (blank - 1)
            continue
        title_lines.append(len(out) + 1 + blank)
        for part in (titles, abstract, tail):
            if part:
                out += [""] * blank + part
    return Damaged("\n".join(out), tuple(title_lines))


def _drops(hurt: frozenset[str], tail_index: int) -> bool:
    named = ("no_authors", "no_separator", "no_date")[tail_index]
    return "no_tail" in hurt or named in hurt


def _expected(page: SeedPage, damage: Mapping[int, frozenset[str]]) -> dict[str, PaperRecord]:
    """What each card must become: its intact record less the fields its damage removed."""
    result = {}
    for index, card in enumerate(page.cards):
        hurt = damage.get(index, frozenset())
        record = page.expected[card.title]
        result[card.title] = PaperRecord(
            source=record.source,
            title=record.title,
            abstract=None if "no_abstract" in hurt else record.abstract,
            author_count=None if _drops(hurt, 0) else record.author_count,
            published=None if _drops(hurt, 2) else record.published,
            upvotes=None if _drops(hurt, 2) else record.upvotes,
            daily_date=record.daily_date,
        )
    return result


def _parse(text: str) -> list[PaperRecord | RecordError]:
    stream = io.BytesIO(text.encode("utf-8"))
    return list(parse_seed_page(stream, origin="damaged.txt", reference_date=SAVED_ON))


@pytest.fixture(scope="module")
def pages(seeds_dir: Path) -> list[SeedPage]:
    return [_read_page(path) for path in sorted(seeds_dir.glob("*.txt"))]


def _by_name(pages: list[SeedPage], prefix: str) -> SeedPage:
    [page] = [p for p in pages if p.name.startswith(prefix)]
    return page


def test_a_card_without_author_and_date_lines_is_its_own_paper(pages: list[SeedPage]) -> None:
    # The page: one card goes straight from its abstract into the next title.
    page = _by_name(pages, "000")
    damaged = _damage(page, {4: frozenset({"no_tail"})}, blank=1)

    items = _parse(damaged.text)

    records = [item for item in items if isinstance(item, PaperRecord)]
    assert len(records) == len(items) == 38
    bare, after = records[4], records[5]
    assert (bare.title, after.title) == (page.cards[4].title, page.cards[5].title)
    assert bare.abstract == page.expected[bare.title].abstract
    assert after.abstract == page.expected[after.title].abstract
    assert (bare.author_count, bare.published, bare.upvotes) == (None, None, None)
    assert bare.daily_date == date(2026, 5, 1)


def test_a_list_page_missing_an_abstract_keeps_the_next_title(pages: list[SeedPage]) -> None:
    page = _by_name(pages, "003")
    damaged = _damage(page, {2: frozenset({"no_abstract"})}, blank=1)

    records = {r.title: r for r in _parse(damaged.text) if isinstance(r, PaperRecord)}

    assert len(records) == 182
    assert records[page.cards[2].title].abstract is None
    assert records[page.cards[3].title].abstract == page.cards[3].abstract


def test_a_card_page_whose_last_card_lost_its_tail_names_it(pages: list[SeedPage]) -> None:
    page = _by_name(pages, "002")
    last = len(page.cards) - 1
    damaged = _damage(page, {last: frozenset({"no_tail"})}, blank=2)

    items = _parse(damaged.text)

    assert sum(isinstance(item, PaperRecord) for item in items) == last
    [error] = [item for item in items if isinstance(item, RecordError)]
    assert error.location == f"line {damaged.title_lines[last]}"
    assert "cut off" in error.reason


@st.composite
def _damaged_pages(
    draw: st.DrawFn, pages: list[SeedPage]
) -> tuple[SeedPage, dict[int, frozenset[str]], int]:
    page = draw(st.sampled_from(pages))
    kinds = BODY_DAMAGE if page.list_layout else BODY_DAMAGE + TAIL_DAMAGE
    cards = st.integers(0, len(page.cards) - 1)
    hurt = st.frozensets(st.sampled_from(kinds), min_size=1)
    damage = draw(st.dictionaries(cards, hurt, min_size=1, max_size=12))
    return page, damage, draw(st.integers(1, 3))


@given(data=st.data())
@settings(max_examples=80, deadline=None)
def test_every_title_on_a_damaged_page_is_one_paper_or_one_named_failure(
    pages: list[SeedPage], data: st.DataObject
) -> None:
    page, damage, blank = data.draw(_damaged_pages(pages))
    damaged = _damage(page, damage, blank=blank)
    expected = _expected(page, damage)
    # Cards after the last one that kept a tail line are the cut-off end of a card page.
    tailed = [
        i
        for i, c in enumerate(page.cards)
        if any(not _drops(damage.get(i, frozenset()), j) for j in range(len(c.tail)))
    ]
    cut = (
        set() if page.list_layout else set(range(tailed[-1] + 1 if tailed else 0, len(page.cards)))
    )

    items = _parse(damaged.text)

    records = [item for item in items if isinstance(item, PaperRecord)]
    errors = [item for item in items if isinstance(item, RecordError)]
    assert sorted(e.location for e in errors) == sorted(
        f"line {damaged.title_lines[i]}" for i in cut
    )
    assert [r.title for r in records] == [c.title for i, c in enumerate(page.cards) if i not in cut]
    for record in records:
        assert record == expected[record.title]
