"""Group parsed records into batches and hand them to the store."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from dailypapers.models import ImportSummary, PaperRecord, RecordError
from dailypapers.store.papers import LocatedRecord, upsert_papers


def store_records(
    engine: sa.Engine,
    items: Iterable[tuple[PaperRecord | RecordError, str, str]],
    *,
    now: datetime,
    batch_size: int,
) -> ImportSummary:
    """Store (record or error, origin, location) items in batches; errors go to the summary.

    If reading the input fails part-way (a truncated archive), the records read so far are
    still stored before the error propagates.
    """
    summary = ImportSummary()
    pending: list[LocatedRecord] = []
    try:
        for item, origin, location in items:
            if isinstance(item, RecordError):
                summary.failed += 1
                summary.failures.append(item)
                continue
            pending.append(LocatedRecord(item, origin, location))
            if len(pending) >= batch_size:
                summary.add(upsert_papers(engine, pending, now=now))
                pending = []
    finally:
        if pending:
            summary.add(upsert_papers(engine, pending, now=now))
    return summary
