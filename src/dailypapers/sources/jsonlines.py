"""Reading JSON lines safely, plus the field helpers and sanity limits every parser shares.

`iter_json_lines` streams a binary file one line at a time, so memory stays flat on the
4.5 GiB arXiv snapshot, and turns every unreadable line into a `RecordError` that names it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import orjson

from dailypapers.ids import clean_text, normalize_arxiv_id
from dailypapers.limits import limit_problem
from dailypapers.models import PaperRecord, RecordError

MAX_LINE_BYTES = 1 << 20

_BOM = b"\xef\xbb\xbf"

JsonLine = tuple[int, dict[str, Any]]


def iter_json_lines(
    stream: BinaryIO, *, origin: str, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[JsonLine | RecordError]:
    """Yield (line number, JSON object) per non-blank line, or a RecordError for a bad line."""
    line_no = 0
    while True:
        line = stream.readline(max_line_bytes + 1)
        if not line:
            return
        line_no += 1
        if len(line) > max_line_bytes:
            _skip_rest_of_line(stream, line, max_line_bytes)
            yield RecordError(origin, f"line {line_no}", f"line longer than {max_line_bytes} bytes")
            continue
        if line_no == 1 and line.startswith(_BOM):
            line = line[len(_BOM) :]
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if line.strip():
                yield RecordError(origin, f"line {line_no}", _json_error_reason(line, exc))
            continue
        if type(obj) is dict:
            yield line_no, obj
        else:
            reason = f"expected a JSON object, found {type(obj).__name__}"
            yield RecordError(origin, f"line {line_no}", reason)


def _skip_rest_of_line(stream: BinaryIO, head: bytes, chunk_bytes: int) -> None:
    # Read the remainder in bounded chunks so one giant line never sits in memory whole.
    chunk = head
    while chunk and not chunk.endswith(b"\n"):
        chunk = stream.readline(chunk_bytes)


def _json_error_reason(line: bytes, exc: orjson.JSONDecodeError) -> str:
    # orjson reports bad UTF-8 as a JSON error; name the encoding problem instead.
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"not valid UTF-8 (byte {err.start + 1} of the line; Latin-1 or another encoding?)"
    if not line.endswith(b"\n"):
        return f"invalid JSON (truncated last line?): {exc.msg}"
    return f"invalid JSON: {exc.msg} at column {exc.colno}"


def checked(record: PaperRecord, *, origin: str, location: str) -> PaperRecord | RecordError:
    """The record itself, or a RecordError when it breaks the size limits."""
    reason = limit_problem(record)
    return record if reason is None else RecordError(origin, location, reason)


def optional_str(obj: dict[str, Any], key: str) -> str | None:
    """A string field stripped, None when absent, null or blank; TypeError for other types."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"field {key!r} must be a string, not {type(value).__name__}")
    return value.strip() or None


def optional_int(value: Any) -> int | None:
    """A count given as an integer (or digit string); None when absent or not a count."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def arxiv_id_and_title(
    obj: dict[str, Any], *, field_prefix: str = "", fallback_title: str | None = None
) -> tuple[str, str]:
    """The normalised arXiv `id` and the cleaned `title` of a line (`fallback_title` when it
    has none); ValueError if either is bad. `field_prefix` names where `obj` sits in errors."""
    raw_id = optional_str(obj, "id")
    if raw_id is None:
        raise ValueError(f"missing field '{field_prefix}id'")
    paper_id = normalize_arxiv_id(raw_id)
    if paper_id is None:
        raise ValueError(f"{field_prefix}id {raw_id!r} is not an arXiv id")
    title = clean_text(optional_str(obj, "title") or fallback_title)
    if title is None:
        raise ValueError(f"paper {paper_id} has no title")
    return paper_id, title


def records_from_json_lines(
    stream: BinaryIO,
    *,
    origin: str,
    convert: Callable[[dict[str, Any]], PaperRecord],
    describe: Callable[[Exception], str] = str,
) -> Iterator[PaperRecord | RecordError]:
    """Run `convert` on each JSON line; a line it rejects becomes a RecordError naming it."""
    for item in iter_json_lines(stream, origin=origin):
        if isinstance(item, RecordError):
            yield item
            continue
        line_no, obj = item
        location = f"line {line_no}"
        try:
            record = convert(obj)
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
            yield RecordError(origin, location, describe(exc))
            continue
        yield checked(record, origin=origin, location=location)
