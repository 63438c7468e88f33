"""Query parsing (pure): free words, "phrases", -exclusions, author:, cat:, has:code and dates.

    diffusion "classifier-free guidance" -video author:ho cat:cs.CV has:code from:2022-01 to:2023

Free words are OR-ed and ranked by BM25 (so a long sentence still finds the best matches);
phrases must appear; excluded words and phrases must not; filters restrict the results of
every search mode. Dates accept YYYY, YYYY-MM or YYYY-MM-DD; `to:` includes its whole period.

A query must give something to search for: a word or phrase with a letter or digit in it, or a
filter. `$` or `---` alone would match every paper, so they are refused like an empty query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from dailypapers.feeds.periods import MAX_YEAR, MIN_YEAR

MAX_QUERY_CHARS = 1000
EMPTY_QUERY = (
    'the query has no words to search for: give a word, a "phrase" or a filter such as '
    "author:NAME or cat:cs.LG"
)
# What the keyword index finds in text (tantivy's simple tokenizer, then its long-token filter):
# runs of letters and digits shorter than 40 bytes. Anything else cannot match a paper.
_INDEXED_WORD = re.compile(r"[^\W_]+")
_MAX_WORD_BYTES = 39

_TOKEN = re.compile(r'(-?)(?:(\w+):)?(?:"([^"]*)"?|(\S*))')
_FILTER_NAMES = {
    "author": "author",
    "au": "author",
    "cat": "category",
    "category": "category",
    "from": "from",
    "after": "from",
    "since": "from",
    "to": "to",
    "until": "to",
    "before": "to",
    "year": "year",
    "has": "has",
}
# What `has:` can ask for: papers with a code link.
HAS_VALUES = ("code",)


class QueryError(ValueError):
    """A query that cannot be run; the message says what is wrong and where."""


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrictions shared by every search mode."""

    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    published_from: datetime | None = None
    published_until: datetime | None = None  # exclusive
    has_code: bool = False  # only papers with a code link

    @property
    def active(self) -> bool:
        return bool(
            self.authors
            or self.categories
            or self.published_from
            or self.published_until
            or self.has_code
        )

    def merged(self, other: Filters) -> Filters:
        return Filters(
            authors=self.authors + other.authors,
            categories=self.categories + other.categories,
            published_from=other.published_from or self.published_from,
            published_until=other.published_until or self.published_until,
            has_code=self.has_code or other.has_code,
        )


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """A query split into its parts."""

    text: str
    words: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    filters: Filters = field(default_factory=Filters)

    @property
    def semantic_text(self) -> str:
        """What the embedding model reads: the words and phrases, without operators."""
        return " ".join(self.phrases + self.words)

    def with_filters(self, filters: Filters) -> ParsedQuery:
        return replace(self, filters=self.filters.merged(filters))


def parse_date_bound(value: str, *, end: bool, name: str) -> datetime:
    """YYYY, YYYY-MM or YYYY-MM-DD as a UTC datetime: the period's start, or with `end` the
    start of the next period (an exclusive bound). QueryError names `name` if it is malformed
    or its year is outside MIN_YEAR..MAX_YEAR (as on the list pages)."""
    malformed = f"{name}: {value!r} is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)"
    try:
        numbers = [int(part) for part in value.strip().split("-")]
    except ValueError:
        raise QueryError(malformed) from None
    if not MIN_YEAR <= numbers[0] <= MAX_YEAR:
        raise QueryError(
            f"{name}: {value!r} is out of range (use a year from {MIN_YEAR} to {MAX_YEAR})"
        )
    try:
        start, after = _period_bounds(numbers)
    except ValueError:
        raise QueryError(malformed) from None
    chosen = after if end else start
    return datetime(chosen.year, chosen.month, chosen.day, tzinfo=UTC)


def _period_bounds(numbers: list[int]) -> tuple[date, date]:
    """The first day of the year, month or day given, and the first day after it."""
    if len(numbers) == 1:
        return date(numbers[0], 1, 1), date(numbers[0] + 1, 1, 1)
    if len(numbers) == 2:
        start = date(numbers[0], numbers[1], 1)
        return start, (start + timedelta(days=32)).replace(day=1)
    if len(numbers) == 3:
        start = date(numbers[0], numbers[1], numbers[2])
        return start, start + timedelta(days=1)
    raise ValueError(numbers)


def has_indexed_word(text: str) -> bool:
    """True when the keyword index would find a word in `text` (a letter or digit run)."""
    return any(len(word.encode()) <= _MAX_WORD_BYTES for word in _INDEXED_WORD.findall(text))


def _apply_filter(filters: dict[str, object], kind: str, value: str) -> None:
    if not value:
        raise QueryError(f"{kind}: needs a value")
    if kind == "author":
        if not has_indexed_word(value):
            raise QueryError(f"author: {value!r} has no name to match")
        filters["authors"] = (*filters.get("authors", ()), value)  # type: ignore[misc]
    elif kind == "category":
        filters["categories"] = (*filters.get("categories", ()), value)  # type: ignore[misc]
    elif kind == "from":
        filters["published_from"] = parse_date_bound(value, end=False, name="from")
    elif kind == "to":
        filters["published_until"] = parse_date_bound(value, end=True, name="to")
    elif kind == "has":
        if value.lower() not in HAS_VALUES:
            raise QueryError(f"has: {value!r} is not something to filter by (use has:code)")
        filters["has_code"] = True
    else:  # year
        filters["published_from"] = parse_date_bound(value, end=False, name="year")
        filters["published_until"] = parse_date_bound(value, end=True, name="year")


def parse_query(text: str) -> ParsedQuery:
    """Split a search box query into words, phrases, exclusions and filters.

    Raises QueryError for an over-long query, a malformed filter value, or a query with nothing
    to search for (empty, symbols only, or only exclusions).
    """
    stripped = text.strip()
    if not stripped:
        raise QueryError(EMPTY_QUERY)
    if len(stripped) > MAX_QUERY_CHARS:
        raise QueryError(
            f"the query is {len(stripped):,} characters long; the limit is {MAX_QUERY_CHARS:,}"
        )
    words: list[str] = []
    phrases: list[str] = []
    excluded: list[str] = []
    filters: dict[str, object] = {}
    for match in _TOKEN.finditer(stripped):
        negated, prefix, quoted, bare = match.groups()
        value = quoted if quoted is not None else bare
        kind = _FILTER_NAMES.get(prefix.lower()) if prefix else None
        if kind:
            _apply_filter(filters, kind, value.strip())
            continue
        if prefix:  # an unknown prefix such as "CUDA:" is just text
            value = f"{prefix}:{value}"
        if negated and value:
            excluded.append(value)
        elif quoted is not None:
            if quoted.strip():
                phrases.append(quoted.strip())
        elif value:
            words.append(value)
    if not filters and not any(has_indexed_word(part) for part in words + phrases):
        raise QueryError(EMPTY_QUERY)
    return ParsedQuery(
        text=stripped,
        words=tuple(words),
        phrases=tuple(phrases),
        excluded=tuple(excluded),
        filters=Filters(**filters),  # type: ignore[arg-type]
    )
