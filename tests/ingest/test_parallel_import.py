"""Parsing in a second process: the same papers, errors and counts as parsing in one."""

from __future__ import annotations

import gzip
import multiprocessing
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from dailypapers.child_process import fork_context
from dailypapers.config import Settings, load_settings
from dailypapers.dates import as_utc
from dailypapers.ingest.files import ImportOptions, import_paths
from dailypapers.ingest.parallel import parse_in_child
from dailypapers.models import RecordError
from dailypapers.store.engine import open_store
from dailypapers.store.schema import paper_authors, paper_categories, papers

NOW = datetime(2026, 11, 23, tzinfo=UTC)
IN_PROCESS = ImportOptions("auto", date(2026, 11, 23), 500)
PARALLEL = ImportOptions("auto", date(2026, 11, 23), 500, parallel=True)
# Written at import time (the batch's clock), not from the input.
CLOCK_COLUMNS = {"created_at", "modified_at", "hotness"}

pytestmark = pytest.mark.skipif(fork_context() is None, reason="processes cannot be forked")


def _inputs(shared_data: Path) -> list[Path]:
    return [
        shared_data / "arxiv-cs-2025" / "2025-03-18.jsonl",
        shared_data / "kaggle-arxiv-snapshot" / "arxiv-metadata-oai-snapshot.sample200.json",
    ]


def _plain(value: Any) -> Any:
    """A value as both databases return it (PostgreSQL gives aware datetimes, SQLite naive)."""
    return as_utc(value) if isinstance(value, datetime) else value


def _stored(engine: sa.Engine) -> tuple[list[dict[str, Any]], list[Any], list[Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(papers).order_by(papers.c.paper_id)).mappings().all()
        authors = conn.execute(sa.select(paper_authors).order_by(*paper_authors.primary_key))
        categories = conn.execute(
            sa.select(paper_categories).order_by(*paper_categories.primary_key)
        )
        return (
            [{k: _plain(v) for k, v in row.items() if k not in CLOCK_COLUMNS} for row in rows],
            [tuple(row) for row in authors],
            [tuple(row) for row in categories],
        )


def test_a_parallel_import_stores_exactly_what_one_process_stores(
    engine: sa.Engine, shared_data: Path, tmp_path: Path
) -> None:
    reference = open_store(load_settings({}, home=tmp_path / "reference"))
    expected = import_paths(reference, _inputs(shared_data), IN_PROCESS, now=NOW)
    summary = import_paths(engine, _inputs(shared_data), PARALLEL, now=NOW)
    assert summary == expected
    assert summary.imported > 500 and summary.failed == 0
    assert _stored(engine) == _stored(reference)
    again = import_paths(engine, _inputs(shared_data), PARALLEL, now=NOW)
    assert (again.imported, again.updated, again.failed) == (0, 0, 0)
    assert again.unchanged == summary.imported + summary.updated + summary.unchanged
    reference.dispose()


def test_bad_lines_and_a_cut_archive_are_named_and_the_rest_stored(
    sqlite_settings: Settings, shared_data: Path, tmp_path: Path
) -> None:
    lines = (shared_data / "arxiv-cs-2025" / "2025-03-18.jsonl").read_bytes().splitlines(True)
    broken = tmp_path / "broken.jsonl"
    # A record the store refuses: named in file order whichever process parsed it.
    refused = orjson.dumps({**orjson.loads(lines[9]), "title": "$$$"}) + b"\n"
    broken.write_bytes(
        b"".join(lines[:5]) + b'{"id": \n' + b"".join(lines[5:9]) + refused + b"".join(lines[10:40])
    )
    data = gzip.compress(b"".join(lines))
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    engine = open_store(sqlite_settings)
    summary = import_paths(engine, [broken, cut], PARALLEL, now=NOW)
    expected = import_paths(
        open_store(load_settings({}, home=tmp_path / "reference")),
        [broken, cut],
        IN_PROCESS,
        now=NOW,
    )
    assert summary == expected
    first, invalid, second = summary.failures
    assert (first.origin, first.location) == (str(broken), "line 6")
    assert "invalid JSON" in first.reason
    assert (invalid.origin, invalid.location) == (str(broken), "record 11")
    assert invalid.reason == "title has no letters or digits: '$$$'"
    assert second.origin == str(cut) and second.location.startswith("after record ")
    assert "truncated or corrupt" in second.reason
    assert summary.imported > 100
    engine.dispose()


def test_progress_counts_every_byte_of_the_file(shared_data: Path, tmp_path: Path) -> None:
    packed = tmp_path / "listing.jsonl.gz"
    packed.write_bytes(
        gzip.compress((shared_data / "arxiv-cs-2025" / "2026-07-01.jsonl").read_bytes())
    )
    context = fork_context()
    assert context is not None
    read: list[int] = []
    items = list(parse_in_child(context, packed, "arxiv-listing", NOW.date(), on_read=read.append))
    assert sum(read) == packed.stat().st_size
    assert len(items) > 300 and not any(isinstance(item, RecordError) for item in items)


def test_the_parsing_process_ends_when_the_import_stops_early(shared_data: Path) -> None:
    context = fork_context()
    assert context is not None
    source = shared_data / "arxiv-cs-2025" / "2025-03-18.jsonl"
    items = parse_in_child(context, source, "arxiv-listing", NOW.date(), on_read=lambda _n: None)
    next(items)
    [child] = [p for p in multiprocessing.active_children() if p.name == "dailypapers-parse"]
    assert child.is_alive()
    items.close()  # as when storing a batch raised (or Ctrl-C interrupted it)
    assert not child.is_alive()
    assert not [p for p in multiprocessing.active_children() if p.name == "dailypapers-parse"]
