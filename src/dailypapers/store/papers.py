"""Repository functions for papers: batched upsert with deduplication, and reads."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from dailypapers.dates import as_utc, parse_iso_datetime
from dailypapers.ids import (
    author_key,
    is_arxiv,
    normalize_arxiv_id,
    normalize_doi,
    normalize_title,
)
from dailypapers.models import ImportSummary, Paper, PaperRecord, RecordError
from dailypapers.store.merge import (
    InvalidRecord,
    Row,
    classify_id,
    decode_versions,
    encode_versions,
    merge_record,
    same_content,
    title_paper_id,
    validate_record,
)
from dailypapers.store.schema import (
    embedding_backlog,
    paper_authors,
    paper_categories,
    paper_removals,
    paper_vectors,
    papers,
)
from dailypapers.store.vectors import backlog_priority, enqueue_embedding

JSON_COLUMNS = ("authors", "categories", "sources")
_COLUMN_NAMES = [column.name for column in papers.columns]
# Written by votes, comments and moderation, never by imports (an import must not undo a vote
# that committed after it read the row).
_SITE_OWNED = ("local_votes", "local_comments", "hidden")


@dataclass(slots=True)
class LocatedRecord:
    """A parsed record with where it came from, so a failure can name its file and line."""

    record: PaperRecord
    origin: str
    location: str


def _as_utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def _parse_datetime(text: str) -> datetime:
    return parse_iso_datetime(text)


def _decode_row(db_row: sa.RowMapping) -> Row:
    row: Row = dict(db_row)
    for name in JSON_COLUMNS:
        row[name] = orjson.loads(row[name])
    row["versions"] = decode_versions(row["versions"], _parse_datetime)
    for name in ("published", "updated", "created_at", "modified_at"):
        row[name] = _as_utc(row[name])
    return row


def _encode_row(row: Row) -> dict[str, Any]:
    values = {name: row[name] for name in _COLUMN_NAMES}
    for name in JSON_COLUMNS:
        values[name] = orjson.dumps(row[name]).decode()
    values["versions"] = encode_versions(row["versions"])
    return values


class _Batch:
    """Rows of one batch: what is stored already and what this batch will write."""

    def __init__(self, existing: dict[str, Row]) -> None:
        self.existing = existing
        self.rows: dict[str, Row] = {}
        self.by_title: dict[str, str] = {}
        self.rekeys: dict[str, str] = {}
        for paper_id, row in existing.items():
            self.by_title.setdefault(row["title_key"], paper_id)

    def current(self, paper_id: str) -> Row | None:
        return self.rows.get(paper_id) or self.existing.get(paper_id)


def _load_existing(conn: sa.Connection, records: Sequence[PaperRecord]) -> dict[str, Row]:
    """Stored rows the batch may touch: by id; by title for records without an arXiv id (they
    may belong to any paper); title-only papers that a record with an arXiv id may claim."""
    ids = {r.paper_id for r in records if r.paper_id}
    any_keys = {
        normalize_title(r.title) for r in records if not r.paper_id or not is_arxiv(r.paper_id)
    }
    id_keys = {normalize_title(r.title) for r in records if r.paper_id} - any_keys
    idless_keys = any_keys
    queries = []
    if ids:
        queries.append(sa.select(papers).where(papers.c.paper_id.in_(ids)))
    if idless_keys:
        queries.append(sa.select(papers).where(papers.c.title_key.in_(idless_keys)))
    if id_keys:
        title_only = (papers.c.id_kind == sa.text("'title'")) & papers.c.title_key.in_(id_keys)
        queries.append(sa.select(papers).where(title_only))
    found: dict[str, Row] = {}
    for query in queries:
        for db_row in conn.execute(query).mappings():
            found.setdefault(db_row["paper_id"], _decode_row(db_row))
    return found


def _resolve_target(batch: _Batch, record: PaperRecord, title_key: str) -> tuple[str, str]:
    """The (paper_id, id_kind) the record belongs to, noting a title-only paper to rekey."""
    matched = batch.by_title.get(title_key)
    matched_row = batch.current(matched) if matched else None
    if record.paper_id is None:
        if matched and matched_row is not None:
            return matched, matched_row["id_kind"]
        return title_paper_id(title_key), "title"
    kind = classify_id(record.paper_id)
    if batch.current(record.paper_id) is not None or not matched or matched_row is None:
        return record.paper_id, kind
    if matched_row["id_kind"] == "title":
        # The paper was first known only by its title; now it has a real id, so rekey it.
        if matched in batch.existing:
            batch.rekeys[matched] = record.paper_id
        batch.rows[record.paper_id] = matched_row
        batch.rows.pop(matched, None)
        batch.by_title[title_key] = record.paper_id
    elif kind == "doi" and matched_row["id_kind"] == "arxiv":
        if matched_row["doi"] in (None, record.paper_id):
            # The published version of an arXiv paper enriches it instead of becoming a twin.
            record.doi = record.doi or record.paper_id
            return matched, "arxiv"
    return record.paper_id, kind


def _plan_batch(
    batch: _Batch, items: Sequence[LocatedRecord], now: datetime, summary: ImportSummary
) -> None:
    for item in items:
        record = item.record
        title_key = normalize_title(record.title)
        paper_id, id_kind = _resolve_target(batch, record, title_key)
        before = batch.current(paper_id)
        merged = merge_record(before, record, paper_id=paper_id, id_kind=id_kind, now=now)
        if before is not None and same_content(merged, before):
            summary.unchanged += 1
            continue
        summary.imported += int(before is None)
        summary.updated += int(before is not None)
        merged["modified_at"] = now
        batch.rows[paper_id] = merged
        batch.by_title.setdefault(merged["title_key"], paper_id)


def _category_rows(rows: Iterable[Row]) -> list[dict[str, Any]]:
    return [
        {"paper_id": row["paper_id"], "category": category, "position": position}
        for row in rows
        for position, category in enumerate(row["categories"])
    ]


def _write_batch(conn: sa.Connection, batch: _Batch, now: datetime) -> None:
    for old_id, new_id in batch.rekeys.items():
        rekey = sa.update(papers).where(papers.c.paper_id == old_id)
        conn.execute(rekey.values(paper_id=new_id, modified_at=now))
    if batch.rekeys:
        # The search indexes follow modified_at, which an id that is gone no longer has.
        removed = [{"paper_id": old_id, "removed_at": now} for old_id in batch.rekeys]
        conn.execute(sa.insert(paper_removals), removed)
    stored = set(batch.existing) | set(batch.rekeys.values())
    inserts = [row for pid, row in batch.rows.items() if pid not in stored]
    updates = [row for pid, row in batch.rows.items() if pid in stored]
    if inserts:
        _bulk_insert(conn, papers, [_encode_row(r) for r in inserts])
    if updates:
        _update_rows(conn, updates)
    category_rows = _category_rows(inserts + updates)
    if category_rows:
        _bulk_insert(conn, paper_categories, category_rows)
    _write_authors(conn, batch, inserts, updates)
    _queue_embeddings(conn, batch, inserts, updates, now)


def _write_authors(
    conn: sa.Connection, batch: _Batch, inserts: list[Row], updates: list[Row]
) -> None:
    """Each author's row with its matching key (author pages read these), rewritten only for
    papers whose byline changed."""
    changed = [
        row
        for row in updates
        if (before := batch.existing.get(row["paper_id"])) is None
        or before["authors"] != row["authors"]
    ]
    if changed:
        ids = [row["paper_id"] for row in changed]
        conn.execute(sa.delete(paper_authors).where(paper_authors.c.paper_id.in_(ids)))
    rows = author_rows((row["paper_id"], row["authors"]) for row in inserts + changed)
    if rows:
        _bulk_insert(conn, paper_authors, rows)


def author_rows(bylines: Iterable[tuple[str, list[str]]]) -> list[dict[str, Any]]:
    """`paper_authors` rows for (paper id, author names) pairs; names without a letter or digit
    (no key) are left out, the others keep their byline position."""
    return [
        {"paper_id": paper_id, "position": position, "name": name, "name_key": key}
        for paper_id, names in bylines
        for position, name in enumerate(names)
        if (key := author_key(name))
    ]


def _queue_embeddings(
    conn: sa.Connection, batch: _Batch, inserts: list[Row], updates: list[Row], now: datetime
) -> None:
    """New papers and papers whose text changed wait for a vector (in this transaction, so
    none is missed); a re-keyed paper's vector is re-read by every node under its new id."""
    if inserts:
        fresh = [
            {
                "paper_id": row["paper_id"],
                "priority": backlog_priority(daily_date=row["daily_date"], score=row["score"]),
                "list_date": row["list_date"],
                "queued_at": now,
            }
            for row in inserts
        ]
        _bulk_insert(conn, embedding_backlog, [_backlog_defaults(row) for row in fresh])
    changed = []
    for row in updates:
        before = batch.existing.get(row["paper_id"])
        if before is None or (before["title"], before["abstract"]) != (
            row["title"],
            row["abstract"],
        ):
            priority = backlog_priority(daily_date=row["daily_date"], score=row["score"])
            changed.append((row["paper_id"], priority, row["list_date"]))
    enqueue_embedding(conn, entries=changed, now=now)
    if batch.rekeys:
        moved = list(batch.rekeys.values())
        conn.execute(
            sa.update(paper_vectors)
            .where(paper_vectors.c.paper_id.in_(moved))
            .values(embedded_at=now)
        )


def _backlog_defaults(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "claim_token": None, "lease_until": None}


def _bulk_insert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows; on SQLite straight through the driver's executemany, on PostgreSQL
    with COPY.

    SQLAlchemy's per-row parameter processing costs about as much as SQLite's own work, so
    for SQLite the column types' bind processors are applied here once per value instead.
    """
    dialect = conn.dialect
    names = [column.name for column in table.columns]
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        _copy_rows(conn, table.name, names, rows)
        return
    if dialect.name != "sqlite":
        conn.execute(sa.insert(table), rows)
        return
    converters = [
        (position, process)
        for position, column in enumerate(table.columns)
        if (process := column.type.bind_processor(dialect)) is not None
    ]
    values_of = operator.itemgetter(*names)
    params = []
    for row in rows:
        values = list(values_of(row))
        for position, process in converters:
            values[position] = process(values[position])
        params.append(tuple(values))
    marks = ", ".join("?" for _ in names)
    statement = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
    conn.exec_driver_sql(statement, params)


def _copy_rows(
    conn: sa.Connection, table: str, names: list[str], rows: list[dict[str, Any]]
) -> None:
    """Rows into a PostgreSQL table with COPY (psycopg adapts the values), in the caller's
    transaction: several times faster than a pipelined executemany of INSERTs."""
    statement = f"COPY {table} ({', '.join(names)}) FROM STDIN"
    values_of = operator.itemgetter(*names)
    driver_connection: Any = conn.connection.dbapi_connection
    try:
        with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(values_of(row))
    except conn.dialect.loaded_dbapi.Error as error:
        # As SQLAlchemy reports a refused INSERT, so one bad record fails alone.
        raise sa.exc.DBAPIError(statement, None, error) from error


def _update_rows(conn: sa.Connection, rows: list[Row]) -> None:
    ids = [r["paper_id"] for r in rows]
    conn.execute(sa.delete(paper_categories).where(paper_categories.c.paper_id.in_(ids)))
    key: sa.BindParameter[str] = sa.bindparam("_pid")
    values: dict[str, sa.ColumnElement[Any]] = {
        name: sa.bindparam(name)
        for name in _COLUMN_NAMES
        if name not in ("paper_id", "score") and name not in _SITE_OWNED
    }
    # The score adds the stored local votes as they are when the row is written, not as read.
    values["score"] = values["upvotes"] + papers.c.local_votes
    statement = sa.update(papers).where(papers.c.paper_id == key).values(values)
    params = []
    for row in rows:
        encoded = _encode_row(row)
        encoded["_pid"] = encoded.pop("paper_id")
        for name in (*_SITE_OWNED, "score"):
            del encoded[name]
        params.append(encoded)
    conn.execute(statement, params)


def _validated(items: Sequence[LocatedRecord], summary: ImportSummary) -> list[LocatedRecord]:
    good = []
    for item in items:
        try:
            validate_record(item.record)
        except InvalidRecord as error:
            summary.failed += 1
            summary.failures.append(RecordError(item.origin, item.location, str(error)))
            continue
        good.append(item)
    return good


def upsert_papers(
    engine: sa.Engine, items: Sequence[LocatedRecord], *, now: datetime
) -> ImportSummary:
    """Store a batch in one transaction: new papers inserted, changed ones updated, dupes merged.

    If the database refuses the batch, each record is retried alone so one bad record fails
    by itself and every other record is still stored.
    """
    summary = ImportSummary()
    good = _validated(items, summary)
    if not good:
        return summary
    try:
        with engine.begin() as conn:
            batch_summary = _upsert_in(conn, good, now)
    except sa.exc.DBAPIError:
        if len(good) == 1:
            raise
        for item in good:
            summary.add(_upsert_one(engine, item, now))
        return summary
    summary.add(batch_summary)
    return summary


def _upsert_in(conn: sa.Connection, items: Sequence[LocatedRecord], now: datetime) -> ImportSummary:
    summary = ImportSummary()
    batch = _Batch(_load_existing(conn, [item.record for item in items]))
    _plan_batch(batch, items, now, summary)
    _write_batch(conn, batch, now)
    return summary


def _upsert_one(engine: sa.Engine, item: LocatedRecord, now: datetime) -> ImportSummary:
    try:
        with engine.begin() as conn:
            return _upsert_in(conn, [item], now)
    except sa.exc.DBAPIError as error:
        reason = f"database refused the record: {error.orig}"
        return ImportSummary(failed=1, failures=[RecordError(item.origin, item.location, reason)])


def _row_to_paper(row: Row) -> Paper:
    fields = {name: row[name] for name in Paper.__dataclass_fields__}
    return Paper(**fields)


def decode_paper(db_row: sa.RowMapping) -> Paper:
    """A Paper from a full row of the papers table as the database returns it."""
    return _row_to_paper(_decode_row(db_row))


def resolve_paper_id(raw: str) -> str:
    """The stored form of an id a user typed: arXiv ids and URLs lose their version."""
    text = raw.strip()
    return normalize_arxiv_id(text) or normalize_doi(text) or text


def get_paper(engine: sa.Engine, *, paper_id: str) -> Paper | None:
    """One paper by any form of its id, or None."""
    query = sa.select(papers).where(papers.c.paper_id == resolve_paper_id(paper_id))
    with engine.connect() as conn:
        db_row = conn.execute(query).mappings().first()
    return decode_paper(db_row) if db_row else None


def list_papers(
    engine: sa.Engine, *, limit: int = 20, offset: int = 0, daily_date: date | None = None
) -> list[Paper]:
    """Papers, newest first (by daily list date, then publication date)."""
    query = sa.select(papers)
    if daily_date is not None:
        query = query.where(papers.c.daily_date == daily_date)
    query = query.order_by(
        papers.c.daily_date.desc().nulls_last(),
        papers.c.published.desc().nulls_last(),
        papers.c.paper_id,
    )
    with engine.connect() as conn:
        rows = conn.execute(query.limit(limit).offset(offset)).mappings().all()
    return [decode_paper(row) for row in rows]


# Papers readers may see (an admin hides the rest).
VISIBLE = papers.c.hidden == sa.false()


def papers_newest_published(
    engine: sa.Engine, condition: sa.ColumnElement[bool], *, limit: int, offset: int = 0
) -> tuple[list[Paper], int]:
    """A page of the papers that meet `condition`, newest published first (then by list day
    and id), and how many meet it."""
    query = (
        sa.select(papers)
        .where(condition)
        .order_by(
            papers.c.published.desc().nulls_last(),
            papers.c.list_date.desc().nulls_last(),
            papers.c.paper_id,
        )
        .limit(limit)
        .offset(offset)
    )
    count = sa.select(sa.func.count()).select_from(papers).where(condition)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
        total = int(conn.execute(count).scalar_one())
    return [decode_paper(row) for row in rows], total


def count_papers(engine: sa.Engine) -> int:
    """How many papers are stored."""
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(papers)).scalar_one())


# One statement for every call: its values are bound, not part of the statement, so it is
# not built and looked up in SQLAlchemy's cache each time (search results read 20 papers).
_PAPERS_BY_ID = sa.select(papers).where(
    papers.c.paper_id.in_(sa.bindparam("paper_ids", expanding=True))
)


def get_papers(engine: sa.Engine, *, paper_ids: Sequence[str]) -> dict[str, Paper]:
    """Papers by their stored ids (missing ids are left out)."""
    found: dict[str, Paper] = {}
    with engine.connect() as conn:
        for start in range(0, len(paper_ids), 500):
            chunk = list(paper_ids[start : start + 500])
            rows = conn.execute(_PAPERS_BY_ID, {"paper_ids": chunk}).mappings()
            for row in rows:
                paper = decode_paper(row)
                found[paper.paper_id] = paper
    return found
