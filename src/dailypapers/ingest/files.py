"""Import files and folders of dumps into the store, streaming, in batches."""

from __future__ import annotations

import bz2
import gzip
import io
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO, cast

import sqlalchemy as sa

from dailypapers.ingest.batching import store_records
from dailypapers.models import ImportSummary, PaperRecord, RecordError
from dailypapers.sources.registry import FORMATS, detect_format

HEAD_BYTES = 64 * 1024
ProgressCallback = Callable[[int], object]


class UnknownFormatError(ValueError):
    """The format of an input could not be determined or is not supported."""


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How to read the inputs: a format name or "auto", and today's date for yearless dates."""

    format: str
    reference_date: date
    batch_size: int


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


def _choose_format(path: Path, stream: BinaryIO, requested: str) -> str:
    if requested != "auto":
        if requested not in FORMATS:
            raise UnknownFormatError(f"unknown format {requested!r}")
        return requested
    head = stream.peek(HEAD_BYTES)[:HEAD_BYTES] if hasattr(stream, "peek") else b""
    name = detect_format(head, path.name)
    if name is None:
        known = ", ".join(FORMATS)
        raise UnknownFormatError(f"cannot tell the format; pass --format (one of: {known})")
    return name


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
        with open_input(path, on_read) as stream:
            format_name = _choose_format(path, stream, options.format)
            parse = FORMATS[format_name].parse
            records = parse(stream, origin, options.reference_date)
            return store_records(
                engine, _with_origin(records, origin), now=now, batch_size=options.batch_size
            )
    except (OSError, EOFError, UnknownFormatError, gzip.BadGzipFile) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return ImportSummary(failed=1, failures=[RecordError(origin, "file", reason)])


def _with_origin(
    items: Iterable[PaperRecord | RecordError], origin: str
) -> Iterator[tuple[PaperRecord | RecordError, str, str]]:
    """Number the items; a read failure part-way (truncated archive) ends them with an error."""
    iterator = iter(items)
    number = 0
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except (OSError, EOFError, zlib.error) as error:
            reason = f"input is truncated or corrupt: {error}"
            yield RecordError(origin, f"after record {number}", reason), origin, "file"
            return
        number += 1
        yield item, origin, f"record {number}"


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
