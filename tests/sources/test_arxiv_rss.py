"""arXiv announcement feeds (rss.arxiv.org): the real Atom sample and the RSS 2.0 shape."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dailypapers.models import PaperRecord, PaperVersion, RecordError, SourceName
from dailypapers.sources.arxiv_rss import parse_arxiv_rss

ANNOUNCED = datetime(2025, 8, 20, 4, tzinfo=UTC)  # "2025-08-20T00:00:00-04:00"


def _parse(data: bytes, origin: str = "feed.xml") -> list[PaperRecord | RecordError]:
    return list(parse_arxiv_rss(io.BytesIO(data), origin=origin))


def _records(items: list[PaperRecord | RecordError]) -> list[PaperRecord]:
    assert all(isinstance(item, PaperRecord) for item in items), items
    return [item for item in items if isinstance(item, PaperRecord)]


@pytest.fixture(scope="module")
def sample(shared_data: Path) -> bytes:
    return (shared_data / "arxiv-rss" / "cs.AI-2025-08-20.xml").read_bytes()


def test_real_feed_gives_every_entry(sample: bytes) -> None:
    records = _records(_parse(sample))
    assert [r.paper_id for r in records] == [
        "2508.13426",
        "2508.13428",
        "2508.13429",
        "2508.13434",
        "2508.13435",
        "2508.14001",
        "2508.14002",
    ]
    for record in records:
        assert record.source is SourceName.ARXIV_RSS
        assert record.published == ANNOUNCED
        assert record.daily_date is None
        assert record.versions == [PaperVersion(1)]
        assert record.abstract is not None
        assert "Announce Type" not in record.abstract
        assert not record.abstract.startswith(("arXiv:", "Abstract:"))


def test_real_feed_fields(sample: bytes) -> None:
    first = _records(_parse(sample))[0]
    assert first.title == (
        "ALIGN: Word Association Learning for Cross-Cultural Generalization "
        "in Large Language Models"
    )
    assert first.authors == ["Chunhua Liu", "Kabir Manandhar Shrestha", "Sukai Huang"]
    assert first.author_count == 3
    assert first.categories == ["cs.CL", "cs.AI"]  # primary first, as in the feed
    assert first.license == "http://creativecommons.org/licenses/by-nc-sa/4.0/"
    assert first.abstract is not None
    assert first.abstract.startswith("As large language models (LLMs) increasingly mediate")
    assert first.abs_url == "https://arxiv.org/abs/2508.13426"
    assert first.pdf_url == "https://arxiv.org/pdf/2508.13426"


def test_description_prefix_without_trailing_space_is_stripped(sample: bytes) -> None:
    records = {r.paper_id: r for r in _records(_parse(sample))}
    assert records["2508.13435"].abstract == "Spectral graph embedding methods are widely used."
    assert records["2508.14002"].authors == ["Carol White", "Dave Brown"]


def test_truncated_feed_keeps_entries_before_the_cut(sample: bytes) -> None:
    cut = sample[: len(sample) // 2]
    items = _parse(cut, origin="cut.xml")
    assert len(_records(items[:-1])) == cut.count(b"</entry>") >= 2
    error = items[-1]
    assert isinstance(error, RecordError)
    last_line = cut.count(b"\n") + 1
    assert (error.origin, error.location) == ("cut.xml", f"line {last_line}")


def test_bad_encoding_bytes_stop_with_the_line(sample: bytes) -> None:
    broken = sample.replace(b"Hao Zhang", b"Hao Zh\xff\xfeng")
    items = _parse(broken)
    assert len(_records(items[:-1])) == 1
    error = items[-1]
    assert isinstance(error, RecordError)
    line = sample[: sample.index(b"Hao Zhang")].count(b"\n") + 1
    assert error.location == f"line {line}"
    assert "encoding" in error.reason.lower()


RSS_HEAD = """<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:atom="http://www.w3.org/2005/Atom" version="2.0"><channel>
<title>cs.AI updates on arXiv.org</title><link>http://rss.arxiv.org/rss/cs.AI</link>
<pubDate>Wed, 20 Aug 2025 00:00:00 -0400</pubDate>
"""


def _item(guid: str, announce: str, *, title: str = "A title", link: str = "") -> str:
    return f"""<item><title>{title}</title><link>{link}</link>
<description>arXiv:{guid.rsplit(":", 1)[-1]} Announce Type: {announce}
Abstract: We study   things.</description><guid isPermaLink="false">{guid}</guid>
<category>cs.AI</category><category>cs.LG</category><category>cs.AI</category>
<pubDate>Wed, 20 Aug 2025 00:00:00 -0400</pubDate>
<arxiv:announce_type>{announce}</arxiv:announce_type>
<dc:rights>http://creativecommons.org/licenses/by/4.0/</dc:rights>
<dc:creator>Ann Lee, Bo Wu and Cy Twombly</dc:creator></item>
"""


def _rss(*items: str) -> bytes:
    return (RSS_HEAD + "".join(items) + "</channel></rss>\n").encode()


def test_rss2_new_and_replace_items() -> None:
    new, replaced = _records(
        _parse(
            _rss(
                _item("oai:arXiv.org:2508.13168v1", "new"),
                _item("oai:arXiv.org:2401.00001v3", "replace"),
            )
        )
    )
    assert (new.paper_id, new.published, new.updated) == ("2508.13168", ANNOUNCED, None)
    assert new.abstract == "We study things."
    assert new.authors == ["Ann Lee", "Bo Wu", "Cy Twombly"]
    assert new.categories == ["cs.AI", "cs.LG"]
    assert new.license == "http://creativecommons.org/licenses/by/4.0/"
    # A replacement is an old paper: the date is its update, not its publication.
    assert (replaced.paper_id, replaced.published, replaced.updated) == (
        "2401.00001",
        None,
        ANNOUNCED,
    )
    assert replaced.versions == [PaperVersion(3)]


def test_rss2_bad_items_become_errors_and_parsing_continues() -> None:
    data = _rss(
        _item("oai:arXiv.org:2508.00001v1", "new", title=""),
        _item("not-an-id", "new"),
        _item("", "cross", link="https://arxiv.org/abs/2508.00003"),
        _item("oai:arXiv.org:2508.00004v1", "new", title="t" * 2_001),
    )
    items = _parse(data)
    assert [i.reason if isinstance(i, RecordError) else i.paper_id for i in items] == [
        "2508.00001: entry has no title",
        "no usable arXiv id ('not-an-id')",
        "2508.00003",
        "2508.00004: title is 2,001 characters (limit 2,000)",
    ]
    assert all(i.location.startswith("line ") for i in items if isinstance(i, RecordError))


def test_entity_bomb_in_a_feed_is_refused() -> None:
    data = _rss(_item("oai:arXiv.org:2508.13168v1", "new", title="&b;")).replace(
        b"<rss ", b'<!DOCTYPE rss [<!ENTITY b "bbbb">]>\n<rss ', 1
    )
    (error,) = _parse(data)
    assert error == RecordError("feed.xml", "line 2", "DTD entity declarations are not allowed")
