"""Repository functions for author pages: an author's papers, names, co-authors, categories.

An author is a name key (`ids.author_key`): the spellings of one name that differ in accents,
case or punctuation share it. Names that differ otherwise ("A. Smith", "Alice Smith") are kept
apart; `other_spellings` finds those the papers suggest are the same person (see docs/web.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from dailypapers.ids import same_person_possible
from dailypapers.models import Paper
from dailypapers.store.lists import NO_FILTER, ListFilter
from dailypapers.store.papers import VISIBLE, papers_newest_published
from dailypapers.store.schema import paper_authors, paper_categories, papers

# Another spelling is offered when at least this many co-authors wrote with both names.
SHARED_COAUTHORS = 2
# How many of the author's most frequent co-authors the search for other spellings starts from.
SPELLING_SEED_COAUTHORS = 50


@dataclass(frozen=True, slots=True)
class NamedCount:
    """A name (or category) and how many of the author's papers it is on."""

    name: str
    key: str
    papers: int


@dataclass(frozen=True, slots=True)
class OtherSpelling:
    """A name that may be the author's, and how many co-authors the two names share."""

    name: str
    key: str
    shared_coauthors: int


@dataclass(frozen=True, slots=True)
class AuthorSummary:
    """What an author page shows beside the papers."""

    key: str
    name: str  # the most frequent spelling
    spellings: list[str]
    papers: int
    coauthors: list[NamedCount]
    categories: list[NamedCount]


def _by_author(key: str) -> sa.Select[tuple[str]]:
    """The ids of the author's visible papers."""
    return (
        sa.select(paper_authors.c.paper_id)
        .join(papers, papers.c.paper_id == paper_authors.c.paper_id)
        .where(paper_authors.c.name_key == key, VISIBLE)
    )


def list_author_papers(
    engine: sa.Engine, *, key: str, limit: int, offset: int = 0, only: ListFilter = NO_FILTER
) -> tuple[list[Paper], int]:
    """The author's visible papers, newest published first, and how many there are."""
    mine = sa.select(paper_authors.c.paper_id).where(paper_authors.c.name_key == key)
    condition = only.restrict(sa.and_(papers.c.paper_id.in_(mine), VISIBLE))
    return papers_newest_published(engine, condition, limit=limit, offset=offset)


def author_summary(engine: sa.Engine, *, key: str, top: int = 10) -> AuthorSummary | None:
    """The author's spellings, paper count, most frequent co-authors and categories; None
    when no visible paper has this author."""
    mine = _by_author(key).subquery()
    spelling_count = sa.func.count().label("n")
    spellings = (
        sa.select(paper_authors.c.name, spelling_count)
        .where(
            paper_authors.c.name_key == key,
            paper_authors.c.paper_id.in_(sa.select(mine.c.paper_id)),
        )
        .group_by(paper_authors.c.name)
        .order_by(spelling_count.desc(), paper_authors.c.name)
    )
    with engine.connect() as conn:
        names = conn.execute(spellings).all()
        if not names:
            return None
        total = int(conn.execute(sa.select(sa.func.count()).select_from(mine)).scalar_one())
        coauthors = _coauthors(conn, key, top)
        categories = _categories(conn, key, top)
    return AuthorSummary(
        key=key,
        name=str(names[0][0]),
        spellings=[str(name) for name, _ in names],
        papers=total,
        coauthors=coauthors,
        categories=categories,
    )


def _coauthors(conn: sa.Connection, key: str, limit: int) -> list[NamedCount]:
    other = paper_authors.alias("other")
    together = sa.func.count(sa.distinct(other.c.paper_id)).label("n")
    query = (
        sa.select(other.c.name_key, sa.func.max(other.c.name), together)
        .where(
            other.c.paper_id.in_(_by_author(key)),
            other.c.name_key != key,
        )
        .group_by(other.c.name_key)
        .order_by(together.desc(), other.c.name_key)
        .limit(limit)
    )
    return [NamedCount(str(name), str(k), int(n)) for k, name, n in conn.execute(query)]


def _categories(conn: sa.Connection, key: str, limit: int) -> list[NamedCount]:
    count = sa.func.count().label("n")
    query = (
        sa.select(paper_categories.c.category, count)
        .where(paper_categories.c.paper_id.in_(_by_author(key)))
        .group_by(paper_categories.c.category)
        .order_by(count.desc(), paper_categories.c.category)
        .limit(limit)
    )
    return [NamedCount(str(c), str(c), int(n)) for c, n in conn.execute(query)]


def other_spellings(engine: sa.Engine, *, key: str) -> list[OtherSpelling]:
    """Names that may be this author written another way ("A. Smith" for "Alice Smith"), each
    with how many co-authors both names share: a compatible name (`ids.same_person_possible`)
    that at least `SHARED_COAUTHORS` of this author's co-authors also wrote with, and that never
    signs a paper together with this author (two names on one byline are two people)."""
    words = key.split()
    if len(words) < 2:
        return []
    with engine.connect() as conn:
        seeds = [c.key for c in _coauthors(conn, key, SPELLING_SEED_COAUTHORS)]
        if len(seeds) < SHARED_COAUTHORS:
            return []
        seed = paper_authors.alias("seed")
        other = paper_authors.alias("other")
        shared = sa.func.count(sa.distinct(seed.c.name_key)).label("shared")
        query = (
            sa.select(other.c.name_key, sa.func.max(other.c.name), shared)
            .join(seed, seed.c.paper_id == other.c.paper_id)
            .join(papers, papers.c.paper_id == other.c.paper_id)
            .where(
                seed.c.name_key.in_(seeds),
                other.c.name_key.like(f"% {words[-1]}"),  # keys hold no % or _
                other.c.name_key != key,
                VISIBLE,
            )
            .group_by(other.c.name_key)
            .having(shared >= SHARED_COAUTHORS)
        )
        found = [
            OtherSpelling(str(name), str(k), int(n))
            for k, name, n in conn.execute(query)
            if same_person_possible(key, str(k))
        ]
        together = _cosigned(conn, key, [f.key for f in found])
    kept = [f for f in found if f.key not in together]
    return sorted(kept, key=lambda f: (-f.shared_coauthors, f.key))


def _cosigned(conn: sa.Connection, key: str, keys: Sequence[str]) -> set[str]:
    """Which of `keys` share a byline with the author `key`."""
    if not keys:
        return set()
    other = paper_authors.alias("other")
    query = (
        sa.select(other.c.name_key)
        .distinct()
        .where(
            other.c.paper_id.in_(
                sa.select(paper_authors.c.paper_id).where(paper_authors.c.name_key == key)
            ),
            other.c.name_key.in_(list(keys)),
        )
    )
    return {str(k) for k in conn.execute(query).scalars()}
