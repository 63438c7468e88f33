"""Reads for the index updaters: papers changed since a time, in modification order, and ids
removed from the store since a time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa

from dailypapers.dates import as_utc
from dailypapers.store.schema import paper_removals, papers

_INDEX_COLUMNS = (
    papers.c.paper_id,
    papers.c.title,
    papers.c.abstract,
    papers.c.authors,
    papers.c.categories,
    papers.c.published,
    papers.c.modified_at,
    papers.c.code_url,
    (papers.c.created_at == papers.c.modified_at).label("first_stored"),
)


@dataclass(slots=True, frozen=True)
class IndexRow:
    """The fields of a paper that the search indexes hold."""

    paper_id: str
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    published: datetime | None
    modified_at: datetime
    has_code: bool = False
    # This change stored the paper for the first time (no index can hold it from before).
    first_stored: bool = False


def _index_row(db_row: Sequence[Any]) -> IndexRow:
    paper_id, title, abstract, authors, categories, published, modified_at, code_url, first = db_row
    assert isinstance(modified_at, datetime)
    return IndexRow(
        paper_id=str(paper_id),
        title=str(title),
        abstract=str(abstract),
        authors=orjson.loads(str(authors)),
        categories=orjson.loads(str(categories)),
        published=as_utc(published) if isinstance(published, datetime) else None,
        modified_at=as_utc(modified_at),
        has_code=code_url is not None,
        first_stored=bool(first),
    )


def iter_changed_papers(
    engine: sa.Engine, *, since: datetime | None, batch_size: int = 2000, inclusive: bool = True
) -> Iterator[list[IndexRow]]:
    """Papers modified at or after `since` (all when None; with `inclusive` off: strictly
    after), oldest change first, in batches."""
    query = sa.select(*_INDEX_COLUMNS).order_by(papers.c.modified_at, papers.c.paper_id)
    if since is not None:
        newer = papers.c.modified_at >= since if inclusive else papers.c.modified_at > since
        query = query.where(newer)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(query)
        for partition in result.partitions(batch_size):
            yield [_index_row(db_row) for db_row in partition]


def count_changed_papers(
    engine: sa.Engine, *, since: datetime | None, inclusive: bool = True
) -> int:
    """How many papers `iter_changed_papers` would yield (with `inclusive` off: changed strictly
    after `since`)."""
    query = sa.select(sa.func.count()).select_from(papers)
    if since is not None:
        newer = papers.c.modified_at >= since if inclusive else papers.c.modified_at > since
        query = query.where(newer)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def changed_keys_since(engine: sa.Engine, *, since: datetime) -> set[tuple[str, datetime]]:
    """(paper id, modification time) of the papers modified at or after `since`: what a
    reader of those changes must have seen."""
    query = sa.select(papers.c.paper_id, papers.c.modified_at).where(papers.c.modified_at >= since)
    with engine.connect() as conn:
        return {(str(pid), as_utc(time)) for pid, time in conn.execute(query)}


def changes_since(engine: sa.Engine, *, since: datetime) -> tuple[int, datetime | None]:
    """How many papers were modified at or after `since`, and the newest such change."""
    query = sa.select(sa.func.count(), sa.func.max(papers.c.modified_at)).where(
        papers.c.modified_at >= since
    )
    with engine.connect() as conn:
        count, newest = conn.execute(query).one()
    return int(count), as_utc(newest) if newest is not None else None


@dataclass(slots=True, frozen=True)
class Removal:
    """An id that left the store; `stored` when a paper holds that id again now."""

    paper_id: str
    removed_at: datetime
    stored: bool


def list_removals(engine: sa.Engine, *, since: datetime | None) -> list[Removal]:
    """Ids removed at or after `since` (all when None), oldest removal first."""
    stored = sa.exists().where(papers.c.paper_id == paper_removals.c.paper_id)
    query = sa.select(paper_removals.c.paper_id, paper_removals.c.removed_at, stored).order_by(
        paper_removals.c.removed_at, paper_removals.c.removal_id
    )
    if since is not None:
        query = query.where(paper_removals.c.removed_at >= since)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [Removal(str(pid), as_utc(at), bool(again)) for pid, at, again in rows]


def removals_since(engine: sa.Engine, *, since: datetime) -> tuple[int, datetime | None]:
    """How many ids were removed at or after `since`, and the newest such removal."""
    query = sa.select(sa.func.count(), sa.func.max(paper_removals.c.removed_at)).where(
        paper_removals.c.removed_at >= since
    )
    with engine.connect() as conn:
        count, newest = conn.execute(query).one()
    return int(count), as_utc(newest) if newest is not None else None
