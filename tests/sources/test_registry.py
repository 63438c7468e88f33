"""Format detection from an input's first bytes and first complete lines, in bounded memory."""

from __future__ import annotations

import io
import tracemalloc

import orjson
import pytest

from dailypapers.sources import registry
from dailypapers.sources.jsonlines import MAX_LINE_BYTES
from dailypapers.sources.registry import Undetected, detect_format

GENERIC = b'{"id": "doc-1", "title": "A title", "abstract": "Short."}\n'


def _detect(data: bytes, filename: str = "input.jsonl") -> str | Undetected:
    return detect_format(io.BytesIO(data), filename)


@pytest.mark.parametrize("abstract_chars", [70_000, 99_999])
def test_a_long_first_line_is_read_whole(abstract_chars: int) -> None:
    first = {"id": "doc-0", "abstract": "x" * abstract_chars, "title": "Long"}
    listing = {"id": "2501.00001", "title": "T", "summary": "s" * abstract_chars, "abs": "a"}

    assert _detect(orjson.dumps(first) + b"\n" + GENERIC) == "generic"
    assert _detect(orjson.dumps(listing)) == "arxiv-listing"


def test_a_first_line_over_the_line_limit_is_skipped_unkept() -> None:
    data = b'{"abstract": "' + b"x" * (5 * MAX_LINE_BYTES) + b'"}\n' + GENERIC
    stream = io.BytesIO(data)

    tracemalloc.start()
    try:
        found = detect_format(stream, "big.jsonl")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert found == "generic"
    assert peak < 3 * MAX_LINE_BYTES


def test_the_scan_stops_after_its_byte_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "DETECT_SCAN_BYTES", 4 * MAX_LINE_BYTES)
    stream = io.BytesIO(b"{" + b" " * (20 * MAX_LINE_BYTES) + b"}\n" + GENERIC)

    found = detect_format(stream, "huge.jsonl")

    assert isinstance(found, Undetected)
    assert stream.tell() < 6 * MAX_LINE_BYTES


def test_a_broken_first_line_does_not_hide_the_format() -> None:
    assert _detect(b'{"title": "cut off\n' + GENERIC) == "generic"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"\xef\xbb\xbf\n\r\n  \n", "empty file (only blank lines)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary, not text"),
        (b"{not json\n", "bad JSON at line 1: "),
        (b'\n\n{"title": "x",}\n', "bad JSON at line 3: "),
        (b'{"no": "title"}\n', "cannot tell the format; pass --format (one of: arxiv-snapshot"),
    ],
)
def test_undetectable_inputs_say_why(data: bytes, reason: str) -> None:
    found = _detect(data)

    assert isinstance(found, Undetected)
    assert found.reason.startswith(reason)


def test_a_bom_and_blank_lines_before_the_first_record() -> None:
    assert _detect(b"\xef\xbb\xbf" + GENERIC) == "generic"
    assert _detect(b"\n\n" + GENERIC) == "generic"
