"""Query parsing (pure): free words, "phrases", -exclusions, author:, cat: and date filters.

    diffusion "classifier-free guidance" -video author:ho cat:cs.CV from:2022-01 to:2023

Free words are OR-ed and ranked by BM25 (so a long sentence still finds the best matches);
phrases must appear; excluded words and phrases must not; filters restrict the results of
every search mode. Dates accept YYYY, YYYY-MM or YYYY-MM-DD; `to:` includes its whole period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

MAX_QUERY_CHARS = 1000

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
}


class QueryError(ValueError):
    """A query that cannot be run; the message says what is wrong and where."""


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrictions shared by every search mode."""

    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    published_from: datetime | None = None
    published_until: datetime | None = None  # exclusive

    @property
    def active(self) -> bool:
        return bool(self.authors or self.categories or self.published_from or self.published_until)

    def merged(self, other: Filters) -> Filters:
        return Filters(
            authors=self.authors + other.authors,
            categories=self.categories + other.categories,
            published_from=other.published_from or self.published_from,
            published_until=other.published_until or self.published_until,
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
    start of the next period (an exclusive bound)."""
    parts = value.strip().split("-")
    try:
        numbers = [int(part) for part in parts]
        if len(numbers) == 1:
            start, after = date(numbers[0], 1, 1), date(numbers[0] + 1, 1, 1)
        elif len(numbers) == 2:
            start = date(numbers[0], numbers[1], 1)
            after = (start + timedelta(days=32)).replace(day=1)
        elif len(numbers) == 3:
            start = date(numbers[0], numbers[1], numbers[2])
            after = start + timedelta(days=1)
        else:
            raise ValueError(value)
    except ValueError:
        raise QueryError(
            f"{name}: {value!r} is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)"
        ) from None
    chosen = after if end else start
    return datetime(chosen.year, chosen.month, chosen.day, tzinfo=UTC)


def _apply_filter(filters: dict[str, object], kind: str, value: str) -> None:
    if not value:
        raise QueryError(f"{kind}: needs a value")
    if kind == "author":
        filters["authors"] = (*filters.get("authors", ()), value)  # type: ignore[misc]
    elif kind == "category":
        filters["categories"] = (*filters.get("categories", ()), value)  # type: ignore[misc]
    elif kind == "from":
        filters["published_from"] = parse_date_bound(value, end=False, name="from")
    elif kind == "to":
        filters["published_until"] = parse_date_bound(value, end=True, name="to")
    else:  # year
        filters["published_from"] = parse_date_bound(value, end=False, name="year")
        filters["published_until"] = parse_date_bound(value, end=True, name="year")


def parse_query(text: str) -> ParsedQuery:
    """Split a search box query into words, phrases, exclusions and filters.

    Raises QueryError for an empty or over-long query, or a malformed filter value.
    """
    stripped = text.strip()
    if not stripped:
        raise QueryError("the query is empty")
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
    return ParsedQuery(
        text=stripped,
        words=tuple(words),
        phrases=tuple(phrases),
        excluded=tuple(excluded),
        filters=Filters(**filters),  # type: ignore[arg-type]
    )
