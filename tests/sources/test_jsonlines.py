"""The shared JSON-lines reader: line numbers, bad lines, encodings, limits, field helpers."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from dailypapers.dates import parse_iso_datetime
from dailypapers.models import RecordError
from dailypapers.sources.jsonlines import (
    iter_json_lines,
    optional_int,
    optional_str,
)


class _MeteredStream(io.BytesIO):
    """A stream that remembers the longest chunk it handed out."""

    longest_read = 0

    def readline(self, size: int | None = -1, /) -> bytes:
        chunk = super().readline(size)
        self.longest_read = max(self.longest_read, len(chunk))
        return chunk


def _read(data: bytes, **kwargs: int) -> list[tuple[int, dict[str, object]] | RecordError]:
    return list(iter_json_lines(io.BytesIO(data), origin="in.jsonl", **kwargs))


def test_objects_come_with_their_line_numbers_and_blank_lines_are_skipped() -> None:
    items = _read(b'{"a": 1}\n\n   \n{"a": 2}\r\n\n')

    assert items == [(1, {"a": 1}), (4, {"a": 2})]


def test_a_byte_order_mark_on_the_first_line_is_ignored() -> None:
    assert _read(b'\xef\xbb\xbf{"a": 1}\n') == [(1, {"a": 1})]


def test_malformed_line_in_the_middle_is_reported_and_the_rest_still_read() -> None:
    items = _read(b'{"a": 1}\n{"a": 2,,}\n{"a": 3}\n')

    assert items[0] == (1, {"a": 1})
    assert isinstance(items[1], RecordError)
    assert items[1].origin == "in.jsonl"
    assert items[1].location == "line 2"
    assert "invalid JSON" in items[1].reason
    assert items[2] == (3, {"a": 3})


def test_truncated_last_line_gives_one_error_for_that_line() -> None:
    items = _read(b'{"a": 1}\n{"a": 2}\n{"title": "cut off her')

    assert items[:2] == [(1, {"a": 1}), (2, {"a": 2})]
    assert len(items) == 3
    assert isinstance(items[2], RecordError)
    assert items[2].location == "line 3"
    assert "truncated" in items[2].reason


def test_latin1_bytes_are_reported_as_an_encoding_error_naming_the_line() -> None:
    latin1 = '{"title": "Caf\u00e9"}\n'.encode("latin-1")
    items = _read(b'{"a": 1}\n' + latin1 + b'{"a": 3}\n')

    error = items[1]
    assert isinstance(error, RecordError)
    assert error.location == "line 2"
    assert "not valid UTF-8" in error.reason
    assert items[2] == (3, {"a": 3})


def test_over_long_line_is_skipped_without_reading_it_whole() -> None:
    stream = _MeteredStream(b'{"a": 1}\n{"x": "' + b"y" * 10_000 + b'"}\n{"a": 3}\n')

    items = list(iter_json_lines(stream, origin="in.jsonl", max_line_bytes=100))

    assert items[0] == (1, {"a": 1})
    assert isinstance(items[1], RecordError)
    assert items[1].location == "line 2"
    assert "longer than 100 bytes" in items[1].reason
    assert items[2] == (3, {"a": 3})
    assert stream.longest_read <= 101


def test_a_line_that_is_not_an_object_is_an_error() -> None:
    items = _read(b'[1, 2]\n"text"\n')

    assert [item.location for item in items if isinstance(item, RecordError)] == [
        "line 1",
        "line 2",
    ]


def test_iso_dates_become_aware_utc_datetimes() -> None:
    assert parse_iso_datetime("2024-10-22") == datetime(2024, 10, 22, tzinfo=UTC)
    assert parse_iso_datetime("2024-10-25T00:57:09.392Z") == datetime(
        2024, 10, 25, 0, 57, 9, 392000, tzinfo=UTC
    )
    assert parse_iso_datetime("2024-10-25T02:00:00+02:00") == datetime(2024, 10, 25, tzinfo=UTC)
    assert parse_iso_datetime("2024-10-25T08:00:00").tzinfo is UTC
    with pytest.raises(ValueError):
        parse_iso_datetime("25/10/2024")


def test_field_helpers_treat_blank_as_missing_and_refuse_wrong_types() -> None:
    assert optional_str({"k": "  x "}, "k") == "x"
    assert optional_str({"k": "   "}, "k") is None
    assert optional_str({}, "k") is None
    with pytest.raises(TypeError, match="'k' must be a string"):
        optional_str({"k": 3}, "k")
    assert optional_int(5) == 5
    assert optional_int("12") == 12
    assert optional_int(True) is None
    assert optional_int(None) is None
