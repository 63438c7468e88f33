"""Import files and folders of dumps into the store, streaming, in batches."""

from __future__ import annotations

import bz2
import gzip
import io
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO, cast

import sqlalchemy as sa

from dailypapers.child_process import fork_context
from dailypapers.ingest.batching import located, store_records
from dailypapers.ingest.parallel import parse_in_child
from dailypapers.models import ImportSummary, RecordError
from dailypapers.sources.registry import (
    FORMATS,
    Undetected,
    detect_format,
    is_binary,
    read_head,
)

ProgressCallback = Callable[[int], object]

# Inputs at least this large (on disk, all files together) are parsed and keyword-indexed by
# helper processes beside the import; below it, starting them costs more than it saves.
PARALLEL_MIN_BYTES = 1 << 20


class UnreadableFileError(ValueError):
    """An input no format can read: unknown format name, undetectable, empty or binary."""


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How to read the inputs: a format name or "auto", and today's date for yearless dates."""

    format: str
    reference_date: date
    batch_size: int
    # Parse in a second process (where processes can be forked) while this one stores.
    parallel: bool = False


class _CountingReader(io.RawIOBase):
    """Wraps the raw file so progress can follow compressed bytes actually read."""

    def __init__(self, raw: BinaryIO, on_read: ProgressCallback) -> None:
        self._raw = raw
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self._on_read(len(data))
        return len(data)


@contextmanager
def open_input(path: Path, on_read: ProgressCallback) -> Iterator[BinaryIO]:
    """Open a file for parsing, transparently decompressing gzip and bzip2."""
    with path.open("rb") as raw:
        magic = raw.read(3)
        raw.seek(0)
        counted = io.BufferedReader(_CountingReader(raw, on_read), buffer_size=1 << 20)
        if magic[:2] == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=counted) as stream:
                yield stream  # type: ignore[misc]
        elif magic == b"BZh":
            with bz2.BZ2File(counted) as stream:
                yield cast(BinaryIO, stream)
        else:
            yield counted


def expand_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named directly, and the files inside named folders (sorted, hidden ones skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if child.is_file() and not hidden:
                    yield child
        else:
            yield path


def _choose_format(path: Path, requested: str) -> str:
    """The format to parse `path` with; a probe of its first bytes, apart from the parse."""
    if requested != "auto" and requested not in FORMATS:
        raise UnreadableFileError(f"unknown format {requested!r}")
    with open_input(path, lambda _n: None) as probe:
        if requested != "auto":
            # One error for the file, not one per line of bytes the parser cannot read.
            if is_binary(read_head(probe)):
                raise UnreadableFileError("binary, not text")
            return requested
        found = detect_format(probe, path.name)
    if isinstance(found, Undetected):
        raise UnreadableFileError(found.reason)
    return found


def import_file(
    engine: sa.Engine,
    path: Path,
    options: ImportOptions,
    *,
    now: datetime,
    on_read: ProgressCallback = lambda _n: None,
) -> ImportSummary:
    """Import one file; problems are reported in the summary, never raised."""
    origin = str(path)
    try:
        format_name = _choose_format(path, options.format)
        context = fork_context() if options.parallel else None
        if context is not None:
            items = parse_in_child(
                context, path, format_name, options.reference_date, on_read=on_read
            )
            with closing(items):
                return store_records(engine, items, now=now, batch_size=options.batch_size)
        with open_input(path, on_read) as stream:
            parse = FORMATS[format_name].parse
            records = parse(stream, origin, options.reference_date)
            return store_records(
                engine, located(records, origin), now=now, batch_size=options.batch_size
            )
    except (OSError, EOFError, UnreadableFileError, gzip.BadGzipFile) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return ImportSummary(failed=1, failures=[RecordError(origin, "file", reason)])


def import_paths(
    engine: sa.Engine,
    paths: Iterable[Path],
    options: ImportOptions,
    *,
    now: datetime,
    on_read: ProgressCallback = lambda _n: None,
) -> ImportSummary:
    """Import every file (folders recursively); one bad file does not stop the others."""
    summary = ImportSummary()
    for path in expand_paths(paths):
        summary.add(import_file(engine, path, options, now=now, on_read=on_read))
    return summary
