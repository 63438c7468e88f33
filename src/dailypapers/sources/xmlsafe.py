"""Safe, streaming XML reading and the field checks shared by the arXiv XML parsers.

Every XML parser in `sources` reads through `iter_elements`, which refuses entity declarations
(billion laughs, XXE), never touches the network or external DTDs, keeps lxml's size limits
on, and frees each element after use so memory stays flat on multi-gigabyte files.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO

from lxml import etree

from dailypapers.dates import as_utc
from dailypapers.dates import parse_iso_datetime as strict_iso_datetime
from dailypapers.ids import clean_text, normalize_doi

ENTITY_DECLARATION_REASON = "DTD entity declarations are not allowed"

# No entity expansion, no DTD or network access, and libxml2's default limits on node sizes
# and nesting (huge_tree=False): together these shut out entity bombs and external entities.
_SAFE_OPTIONS: dict[str, bool] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}

# The prolog (everything before the root element) is read ahead to look for a DOCTYPE with
# entity declarations, so a bomb is named as such instead of surfacing as an odd lxml error.
_PROLOG_CHUNK_BYTES = 64 * 1024
_MAX_PROLOG_BYTES = 1024 * 1024
_ROOT_START = re.compile(rb"<[A-Za-z_:]")
_LXML_POSITION = re.compile(r", line (\d+), column (\d+)$")

# arXiv writes every version date as "Mon, 2 Apr 2007 19:18:42 GMT"; reading that shape
# directly is several times faster than email.utils, which matters over millions of versions.
_GMT_DATE = re.compile(r"\w{3}, (\d{1,2}) (\w{3}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT", re.ASCII)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


class XmlStreamError(Exception):
    """The document itself is unusable from `line` on; parsing must stop."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason

    @property
    def location(self) -> str:
        return f"line {self.line}"


class _PrefixedStream:
    """Serves bytes already read ahead, then the rest of the underlying stream."""

    def __init__(self, prefix: bytes, rest: BinaryIO) -> None:
        self._prefix = prefix
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if not self._prefix:
            return self._rest.read(size)
        if size < 0:
            data, self._prefix = self._prefix + self._rest.read(), b""
            return data
        data, self._prefix = self._prefix[:size], self._prefix[size:]
        return data


def _read_prolog(stream: BinaryIO) -> bytes:
    """Read ahead until the root element starts (or a bounded amount of bytes)."""
    prefix = b""
    while len(prefix) < _MAX_PROLOG_BYTES:
        chunk = stream.read(_PROLOG_CHUNK_BYTES)
        if not chunk:
            break
        prefix += chunk
        if _ROOT_START.search(prefix.replace(b"\x00", b"")):
            break
    return prefix


def _check_prolog(prefix: bytes) -> None:
    # Dropping NUL bytes lets one byte search cover UTF-16 and UTF-32 documents too.
    text = prefix.replace(b"\x00", b"")
    root = _ROOT_START.search(text)
    prolog = text[: root.start()] if root else text
    doctype = prolog.find(b"<!DOCTYPE")
    if doctype >= 0 and b"<!ENTITY" in prolog:
        raise XmlStreamError(prolog.count(b"\n", 0, doctype) + 1, ENTITY_DECLARATION_REASON)
    if root is None and doctype >= 0 and len(prefix) >= _MAX_PROLOG_BYTES:
        raise XmlStreamError(1, "DOCTYPE longer than 1 MiB before the root element")


def _check_dtd(element: Any) -> None:
    # Backstop for prologs the byte scan cannot read (odd encodings): ask libxml2 itself.
    dtd = element.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise XmlStreamError(1, ENTITY_DECLARATION_REASON)


def _syntax_error(exc: etree.XMLSyntaxError) -> XmlStreamError:
    line, message = exc.lineno or 1, str(exc.msg)
    match = _LXML_POSITION.search(message)
    if match:
        message = f"{message[: match.start()]} (column {match[2]})"
    return XmlStreamError(max(line, 1), f"malformed XML: {message}")


def _release(element: Any) -> None:
    """Free a processed element and everything parsed before it."""
    element.clear(keep_tail=True)
    parent = element.getparent()
    while element.getprevious() is not None:
        del parent[0]


def iter_elements(stream: BinaryIO, tags: Collection[str]) -> Iterator[Any]:
    """Yield each finished element named in `tags` (Clark notation), freeing it afterwards.

    Raises XmlStreamError on malformed or unsafe input, after the good elements before it.
    """
    prefix = _read_prolog(stream)
    _check_prolog(prefix)
    events = etree.iterparse(
        _PrefixedStream(prefix, stream), events=("end",), tag=list(tags), **_SAFE_OPTIONS
    )
    checked = False
    try:
        for _event, element in events:
            if not checked:
                _check_dtd(element)
                checked = True
            yield element
            _release(element)
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc) from exc
    if not checked and events.root is not None:
        _check_dtd(events.root)


def child_text(element: Any, path: str) -> str | None:
    """The whitespace-collapsed text of the first child at `path`, or None if absent/empty."""
    return clean_text(element.findtext(path))


def child_texts(element: Any) -> dict[str, str | None]:
    """Raw text of each direct child by tag, first one winning: one pass per record."""
    texts: dict[str, str | None] = {}
    for child in element:
        texts.setdefault(child.tag, child.text)
    return texts


def first_doi(text: str | None) -> str | None:
    """The first DOI in a field, normalised; arXiv may list several (paper and erratum)."""
    first = next(iter((text or "").split()), None)
    return normalize_doi(first) if first else None


def _parse_gmt(value: str) -> datetime | None:
    match = _GMT_DATE.fullmatch(value.strip())
    month = _MONTHS.get(match[2]) if match else None
    if match is None or month is None:
        return None
    day, year, hour, minute, second = (int(match[i]) for i in (1, 3, 4, 5, 6))
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def parse_iso_datetime(value: str | None) -> datetime | None:
    """An ISO 8601 date or timestamp (`2017-07-27T08:18:33Z`, `2007-04-02`) in UTC, or None."""
    if not value:
        return None
    try:
        return strict_iso_datetime(value)
    except ValueError:
        return None


def parse_email_datetime(value: str | None) -> datetime | None:
    """An RFC 2822 timestamp (`Mon, 2 Apr 2007 19:18:42 GMT`) in UTC, or None."""
    if not value:
        return None
    fast = _parse_gmt(value)
    if fast is not None:
        return fast
    try:
        return as_utc(parsedate_to_datetime(value.strip()))
    except (TypeError, ValueError, IndexError):
        return None
