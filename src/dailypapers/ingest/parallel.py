"""Parsing an input in a second process while this one stores what was parsed.

An import is CPU-bound; on a machine with two cores, reading and parsing a file (a quarter
of an import's time) can run beside the store's work. The child sends parsed records in
chunks of plain tuples (strings, numbers, datetimes): pickling `PaperRecord` objects cost
more than the parse itself, tuples a fraction of it. The records arrive in file order, with
the same errors (file and line) as a parse in this process.

A thread of this process receives the chunks as they come, up to `AHEAD_CHUNKS` ahead of the
store. Without it the child could send only when the store asked for the next chunk, so it
parsed a chunk while the store waited for it (3.4 of 21 s of an import of 74,728 papers).
"""

from __future__ import annotations

import pickle
import queue
import signal
import threading
import traceback
from collections.abc import Generator
from datetime import date
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

from dailypapers.child_process import stop_process
from dailypapers.ingest.batching import located
from dailypapers.models import PaperRecord, PaperVersion, RecordError, SourceName
from dailypapers.sources.registry import FORMATS
from dailypapers.store.papers import LocatedRecord

# Records per message: large enough that a message's overhead vanishes, small enough that
# the two processes overlap from the first batch on.
CHUNK_RECORDS = 500
# Chunks received and waiting for the store: two batches of the default size.
AHEAD_CHUNKS = 8
# How often a receiving thread that waits for room checks whether the import has stopped.
_PUT_WAIT_S = 0.1

_FIELDS = tuple(PaperRecord.__dataclass_fields__)
_VERSIONS = _FIELDS.index("versions")
_SOURCE = _FIELDS.index("source")


class ParseWorkerError(RuntimeError):
    """The parsing process failed in a way a parse in this process would have raised."""


def _encode(item: LocatedRecord | RecordError) -> tuple[Any, ...]:
    if isinstance(item, RecordError):
        return (item.location, item.reason)
    values = [getattr(item.record, name) for name in _FIELDS]
    values[_SOURCE] = item.record.source.value
    values[_VERSIONS] = [(v.number, v.created) for v in item.record.versions]
    return (item.location, None, *values)


def _decode(values: tuple[Any, ...], origin: str) -> LocatedRecord | RecordError:
    location, reason = values[0], values[1]
    if len(values) == 2:
        return RecordError(origin, location, reason)
    fields = list(values[2:])
    fields[_SOURCE] = SourceName(fields[_SOURCE])
    fields[_VERSIONS] = [PaperVersion(number, created) for number, created in fields[_VERSIONS]]
    return LocatedRecord(PaperRecord(*fields), origin, location)


def _parse_in_child(
    path: Path, format_name: str, reference_date: date, origin: str, out: Connection
) -> None:
    # Ctrl-C reaches the whole process group: the parent decides, and stops this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    read = [0]

    def on_read(size: int) -> None:
        read[0] += size

    from dailypapers.ingest.files import open_input  # files imports this module

    try:
        with open_input(path, on_read) as stream:
            records = FORMATS[format_name].parse(stream, origin, reference_date)
            chunk: list[tuple[Any, ...]] = []
            for item in located(records, origin):
                chunk.append(_encode(item))
                if len(chunk) >= CHUNK_RECORDS:
                    _send(out, "chunk", chunk, read[0])
                    chunk = []
            _send(out, "chunk", chunk, read[0])
        _send(out, "end", None, read[0])
    except BrokenPipeError:
        pass  # the parent stopped reading: it has stopped the import
    except (OSError, EOFError) as error:
        # Opening failed (the parse itself turns read errors into a RecordError).
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        _send(out, "oserror", reason, read[0])
    except Exception:
        _send(out, "crash", traceback.format_exc(), read[0])
    finally:
        out.close()


def _send(out: Connection, kind: str, payload: Any, read: int) -> None:
    try:
        out.send_bytes(pickle.dumps((kind, payload, read), protocol=pickle.HIGHEST_PROTOCOL))
    except BrokenPipeError:
        pass


class _Receiver(threading.Thread):
    """Receives the child's messages into a queue of at most AHEAD_CHUNKS, until the last
    one (or the end of the pipe, as an "eof" message)."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(name="dailypapers-parse-receiver", daemon=True)
        self._connection = connection
        self.messages: queue.Queue[tuple[str, Any, int]] = queue.Queue(AHEAD_CHUNKS)
        self._stopped = threading.Event()

    def run(self) -> None:
        kind = "chunk"
        while kind == "chunk" and not self._stopped.is_set():
            try:
                message = pickle.loads(self._connection.recv_bytes())
            except (EOFError, OSError):
                message = ("eof", None, 0)
            kind = message[0]
            while not self._stopped.is_set():
                try:
                    self.messages.put(message, timeout=_PUT_WAIT_S)
                    break
                except queue.Full:
                    continue

    def stop(self) -> None:
        """Stop receiving (the store has stopped reading); the pipe must be closed by the
        child's end for a receive in progress to return."""
        self._stopped.set()


def parse_in_child(
    context: BaseContext,
    path: Path,
    format_name: str,
    reference_date: date,
    *,
    on_read: Any,
) -> Generator[LocatedRecord | RecordError, None, None]:
    """The located records of `path`, parsed by a child process; it is stopped when the
    iteration ends early (an error in the store, Ctrl-C) or finishes."""
    origin = str(path)
    receive, send = context.Pipe(duplex=False)
    child = context.Process(  # type: ignore[attr-defined]
        target=_parse_in_child,
        args=(path, format_name, reference_date, origin, send),
        name="dailypapers-parse",
        daemon=True,
    )
    child.start()
    send.close()
    receiver = _Receiver(receive)
    receiver.start()
    reported = 0
    finished = False
    try:
        while True:
            kind, payload, read = receiver.messages.get()
            if kind == "eof":
                raise ParseWorkerError(f"{origin}: the parsing process ended unexpectedly")
            on_read(read - reported)
            reported = read
            if kind == "end":
                finished = True
                return
            if kind == "oserror":
                raise OSError(payload)
            if kind == "crash":
                raise ParseWorkerError(f"{origin}: parsing failed:\n{payload}")
            for values in payload:
                yield _decode(values, origin)
    finally:
        receiver.stop()
        # The child's end of the pipe closes with the child: a receive in progress returns.
        stop_process(child, at_once=not finished)
        receiver.join()
        receive.close()
