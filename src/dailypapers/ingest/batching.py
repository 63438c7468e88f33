"""Group parsed records into batches and hand them to the store."""

from __future__ import annotations

import gc
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa

from dailypapers.models import ImportSummary, PaperRecord, RecordError
from dailypapers.store.papers import LocatedRecord, upsert_papers

# A full collection every 20,000 records costs a few milliseconds and bounds the garbage.
COLLECT_EVERY_BATCHES = 10


@contextmanager
def bulk_gc() -> Iterator[None]:
    """Collect garbage rarely while millions of short-lived records stream through.

    With the default thresholds the cyclic collector took about a sixth of an import's CPU
    time walking objects that die young anyway; reference counting frees them regardless.
    The few reference cycles a batch leaves behind are collected every few batches instead
    (see COLLECT_EVERY_BATCHES), which keeps memory flat.
    """
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 1_000)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


def located(
    items: Iterable[PaperRecord | RecordError], origin: str
) -> Iterator[LocatedRecord | RecordError]:
    """Each record with its origin and number; a read failure part-way ends them with an error.

    Errors already carry their place. A truncated archive raises while being read: the error
    says after which record, and the records before it are kept.
    """
    iterator = iter(items)
    number = 0
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except (OSError, EOFError, zlib.error) as error:
            reason = f"input is truncated or corrupt: {error}"
            yield RecordError(origin, f"after record {number}", reason)
            return
        number += 1
        yield (
            item
            if isinstance(item, RecordError)
            else LocatedRecord(item, origin, f"record {number}")
        )


def store_records(
    engine: sa.Engine,
    items: Iterable[LocatedRecord | RecordError],
    *,
    now: datetime,
    batch_size: int,
) -> ImportSummary:
    """Store located records in batches; errors (which carry their place) go to the summary.

    If reading the input fails part-way (a truncated archive), the records read so far are
    still stored before the error propagates.
    """
    summary = ImportSummary()
    with bulk_gc():
        _store_all(engine, items, now=now, batch_size=batch_size, summary=summary)
    return summary


def _store_all(
    engine: sa.Engine,
    items: Iterable[LocatedRecord | RecordError],
    *,
    now: datetime,
    batch_size: int,
    summary: ImportSummary,
) -> None:
    pending: list[LocatedRecord] = []
    written = 0
    records = iter(items)
    while True:
        try:
            item = next(records)
        except StopIteration:
            break
        except Exception:
            # Reading the input failed part-way (a truncated archive): what was read is stored
            # before the error propagates. Only then: after a failed write or an interrupt
            # (Ctrl-C), writing again could wait on the interrupted transaction's lock.
            if pending:
                summary.add(upsert_papers(engine, pending, now=_batch_time(now)))
            raise
        if isinstance(item, RecordError):
            summary.failed += 1
            summary.failures.append(item)
            continue
        pending.append(item)
        if len(pending) >= batch_size:
            summary.add(upsert_papers(engine, pending, now=_batch_time(now)))
            pending = []
            written += 1
            if written % COLLECT_EVERY_BATCHES == 0:
                gc.collect()
    if pending:
        summary.add(upsert_papers(engine, pending, now=_batch_time(now)))


def _batch_time(start: datetime) -> datetime:
    """When a batch is written: the index updaters follow `modified_at`, so a long import
    must not stamp every batch with its start time (each sync would re-read all of it)."""
    return max(start, datetime.now(UTC))
