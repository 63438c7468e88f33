"""Safety and robustness of the shared XML reader: entity bombs, XXE, broken input, limits."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dailypapers.sources.xmlsafe import (
    ENTITY_DECLARATION_REASON,
    XmlStreamError,
    first_doi,
    iter_elements,
    parse_email_datetime,
    parse_iso_datetime,
)

ATOM = "http://www.w3.org/2005/Atom"
ENTRY = f"{{{ATOM}}}entry"
TITLE = f"{{{ATOM}}}title"

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE feed [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&lol9;</title></entry></feed>
"""


def _titles(data: bytes) -> list[str | None]:
    return [element.findtext(TITLE) for element in iter_elements(io.BytesIO(data), [ENTRY])]


def _feed(*titles: str) -> bytes:
    entries = "".join(f"<entry><title>{title}</title></entry>\n" for title in titles)
    return f'<feed xmlns="{ATOM}">\n{entries}</feed>\n'.encode()


def test_reads_matching_elements_in_order() -> None:
    assert _titles(_feed("one", "two", "three")) == ["one", "two", "three"]


def test_small_reads_across_the_read_ahead_boundary_lose_nothing() -> None:
    # The prolog scan reads ahead 64 KiB; a document far bigger than that must come through whole.
    titles = [f"paper {n}" for n in range(5_000)]
    assert _titles(_feed(*titles)) == titles


def test_billion_laughs_is_refused_quickly_with_a_clear_reason() -> None:
    started = time.perf_counter()
    with pytest.raises(XmlStreamError) as caught:
        _titles(BILLION_LAUGHS.encode())
    assert caught.value.reason == ENTITY_DECLARATION_REASON
    assert caught.value.location == "line 2"
    assert time.perf_counter() - started < 1.0


def test_billion_laughs_in_utf16_is_refused_too() -> None:
    data = BILLION_LAUGHS.replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
    with pytest.raises(XmlStreamError, match=ENTITY_DECLARATION_REASON):
        _titles(data.encode("utf-16"))


def test_external_entity_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = (
        f'<?xml version="1.0"?>\n<!DOCTYPE feed [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>\n'
        f'<feed xmlns="{ATOM}"><entry><title>&xxe;</title></entry></feed>'
    ).encode()
    with pytest.raises(XmlStreamError, match=ENTITY_DECLARATION_REASON):
        _titles(data)


def test_entity_declaration_hidden_behind_a_comment_is_caught_by_lxml_check() -> None:
    # The byte scan stops at "<feed" inside the comment; the DTD check on the parsed tree
    # still sees the declaration.
    data = (
        f'<!-- <feed> --><!DOCTYPE feed [<!ENTITY x "y">]>\n'
        f'<feed xmlns="{ATOM}"><entry><title>a &x; b</title></entry></feed>'
    ).encode()
    with pytest.raises(XmlStreamError, match=ENTITY_DECLARATION_REASON):
        _titles(data)


def test_external_dtd_is_not_loaded(tmp_path: Path) -> None:
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY stolen "TOP-SECRET">')
    data = (
        f'<!DOCTYPE feed SYSTEM "{dtd.as_uri()}">\n'
        f'<feed xmlns="{ATOM}"><entry><title>x &stolen; y</title></entry></feed>'
    ).encode()
    titles = _titles(data)
    assert titles == ["x "]  # the reference is left unexpanded, the file never read


def test_truncated_document_gives_good_elements_then_an_error_with_the_line() -> None:
    data = _feed("one", "two", "three")
    cut = data[: data.index(b"three")]
    seen: list[str | None] = []
    with pytest.raises(XmlStreamError) as caught:
        for element in iter_elements(io.BytesIO(cut), [ENTRY]):
            seen.append(element.findtext(TITLE))
    assert seen == ["one", "two"]
    assert caught.value.location == "line 4"
    assert caught.value.reason.startswith("malformed XML: ")


def test_undecodable_bytes_give_an_error_on_their_line() -> None:
    data = _feed("fine", "bad \xff", "after").replace("bad \xff".encode(), b"bad \xff\xfe")
    with pytest.raises(XmlStreamError) as caught:
        _titles(data)
    assert caught.value.line == 3
    assert "encoding" in caught.value.reason.lower()


def test_declared_latin1_encoding_is_decoded() -> None:
    data = f'<?xml version="1.0" encoding="ISO-8859-1"?><feed xmlns="{ATOM}">'.encode()
    data += b"<entry><title>caf\xe9</title></entry></feed>"
    assert _titles(data) == ["café"]


def test_empty_input_is_an_error_not_a_crash() -> None:
    with pytest.raises(XmlStreamError) as caught:
        _titles(b"")
    assert caught.value.line == 1


def test_processed_elements_are_freed() -> None:
    roots = []
    for element in iter_elements(io.BytesIO(_feed(*map(str, range(100)))), [ENTRY]):
        roots.append(element.getroottree().getroot())
    assert len(roots[-1]) <= 1  # only the last entry is still attached to <feed>


def test_dates_come_out_timezone_aware_in_utc() -> None:
    assert parse_email_datetime("Mon, 2 Apr 2007 19:18:42 GMT") == datetime(
        2007, 4, 2, 19, 18, 42, tzinfo=UTC
    )
    assert parse_email_datetime("Wed, 20 Aug 2025 00:00:00 -0400") == datetime(
        2025, 8, 20, 4, tzinfo=UTC
    )
    assert parse_iso_datetime("2016-10-09T00:00:00-04:00") == datetime(2016, 10, 9, 4, tzinfo=UTC)
    assert parse_iso_datetime("2007-04-02") == datetime(2007, 4, 2, tzinfo=UTC)
    assert parse_iso_datetime("not a date") is None
    assert parse_email_datetime("not a date") is None
    assert parse_email_datetime("Sat, 31 Feb 2007 10:00:00 GMT") is None
    assert parse_email_datetime("Tue, 3 Apr 2007 22:04:11 +0000") == datetime(
        2007, 4, 3, 22, 4, 11, tzinfo=UTC
    )


def test_first_doi_keeps_the_first_of_several_normalised() -> None:
    assert first_doi("10.1103/PhysRevC.76.024606 10.1103/PhysRevC.76.039902") == (
        "10.1103/physrevc.76.024606"
    )
    assert first_doi(None) is None
    assert first_doi("not-a-doi") is None
