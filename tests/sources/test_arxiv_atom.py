"""arXiv API Atom responses: recorded real responses, old-style ids, errors, broken input."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from dailypapers.models import PaperRecord, PaperVersion, RecordError, SourceName
from dailypapers.sources.arxiv_atom import AtomPage, parse_arxiv_atom, parse_atom_page

ATOM = "http://www.w3.org/2005/Atom"


def _recorded(shared_data: Path, name: str) -> tuple[str, bytes]:
    """(request URL, response bytes) of one recorded API response."""
    recorded = orjson.loads((shared_data / "arxiv-api-atom" / name).read_bytes())
    # The recorder decoded arXiv's UTF-8 bytes as Latin-1 ("WÃ¼bben"); encoding back to
    # Latin-1 restores the bytes arXiv actually sent.
    return recorded["url"], recorded["body"].encode("latin-1")


def _page(shared_data: Path, name: str) -> AtomPage:
    return parse_atom_page(_recorded(shared_data, name)[1], origin=name)


def _records(items: list[PaperRecord | RecordError]) -> list[PaperRecord]:
    assert all(isinstance(item, PaperRecord) for item in items), items
    return [item for item in items if isinstance(item, PaperRecord)]


def _only(shared_data: Path, name: str) -> PaperRecord:
    (record,) = _records(_page(shared_data, name).records)
    return record


SEARCH_PAGES = [
    "q_testing_s0_m100_cfe7536492ca.json",
    "q_testing_s0_m10_bc5a6c384fe9.json",
    "q_testing_s0_m15_80c242b59d59.json",
    "q_testing_s10_m10_34e56e15aaac.json",
    "q_testing_s20_m10_348a237fecab.json",
    "q_testing_s30_m10_f2e39f0143dc.json",
    "q_testing_s40_m10_96dd32eb854c.json",
    "q_testing_s50_m10_7f488ab8598c.json",
    "q_testing_s5_m10_c0e94a259d4a.json",
    "q_testing_s5_m15_bbcf6b23085b.json",
    "q_testing_s9_m15_0b78d4b4d476.json",
]


@pytest.mark.parametrize("name", SEARCH_PAGES)
def test_search_pages_give_every_entry_and_the_paging_counts(shared_data: Path, name: str) -> None:
    url, body = _recorded(shared_data, name)
    query = parse_qs(urlsplit(url).query)
    page = parse_atom_page(body, origin=name)
    records = _records(page.records)
    assert page.error is None
    assert len(records) == body.count(b"<entry>") == int(query["max_results"][0])
    assert page.items_per_page == len(records)
    assert page.start_index == int(query["start"][0])
    assert page.total_results == 214881
    assert all(r.paper_id and r.title and r.abstract and r.authors for r in records)
    assert all(r.published and r.published.tzinfo is UTC for r in records)


def test_streaming_and_page_parsers_agree(shared_data: Path) -> None:
    name = "q_testing_s0_m100_cfe7536492ca.json"
    body = _recorded(shared_data, name)[1]
    streamed = list(parse_arxiv_atom(io.BytesIO(body), origin=name))
    assert streamed == parse_atom_page(body, origin=name).records


def test_entry_fields(shared_data: Path) -> None:
    record = _only(shared_data, "id_1605.08386_s0_m100_199195aa31ad.json")
    assert record.source is SourceName.ARXIV_API
    assert record.paper_id == "1605.08386"
    assert record.title == "Heat-bath random walks with Markov bases"
    assert record.authors == ["Caprice Stanley", "Tobias Windisch"]
    assert record.author_count == 2
    assert record.categories == ["math.CO", "math.ST"]
    assert record.published == datetime(2016, 5, 26, 17, 59, 46, tzinfo=UTC)
    assert record.updated == record.published
    assert record.versions == [PaperVersion(1, record.published)]
    assert record.comments == "20 pages, 3 figures"
    assert record.abstract is not None
    assert record.abstract.startswith("Graphs on lattice points are studied")
    assert record.abs_url == "https://arxiv.org/abs/1605.08386"
    assert record.pdf_url == "https://arxiv.org/pdf/1605.08386"
    assert record.daily_date is None


def test_long_author_list_keeps_order_and_accents(shared_data: Path) -> None:
    record = _only(shared_data, "id_1707.08567_s0_m100_6a1afebfc6a3.json")
    assert len(record.authors) == 34
    assert record.authors[0] == "Kees A. Schouhamer Immink"
    assert record.authors[-2:] == ["Dirk Wübben", "Hirosuke Yamamoto"]


def test_doi_and_journal_ref(shared_data: Path) -> None:
    records = _records(_page(shared_data, "q_testing_s0_m10_bc5a6c384fe9.json").records)
    first = records[0]
    assert first.paper_id == "2202.12139"
    assert first.doi == "10.1109/icstw55395.2022.00035"
    assert first.journal_ref is not None
    assert first.journal_ref.startswith("Artificial Intelligence in Software Testing @ 2022")
    assert first.categories == ["cs.SE", "cs.LG"]


def test_old_style_id_with_affiliations(shared_data: Path) -> None:
    record = _only(shared_data, "id_astro-ph_0601001_s0_m100_3150dca9dc76.json")
    assert record.paper_id == "astro-ph/0601001"
    assert record.authors == ["Andrew Gould", "Susan Dorsher", "B. Scott Gaudi", "Andrzej Udalski"]
    assert record.journal_ref == "ActaAstron.56:1-50,2006"
    assert record.categories == ["astro-ph"]
    assert record.abs_url == "https://arxiv.org/abs/astro-ph/0601001"
    assert record.abstract is not None
    assert record.abstract.startswith("We derive")  # leading spaces gone
    assert "V_max<17.5" in record.abstract  # &lt; decoded


def test_old_style_id_with_cross_list(shared_data: Path) -> None:
    record = _only(shared_data, "id_quant-ph_0201082v1_s0_m100_86989fe779ef.json")
    assert record.paper_id == "quant-ph/0201082"
    assert record.categories == ["quant-ph", "cs.PL"]
    assert record.authors == ["Stephen Blaha"]


def test_one_character_title_is_kept(shared_data: Path) -> None:
    record = _only(shared_data, "id_2104.12255v1_s0_m100_6ae69987ffe1.json")
    assert (record.paper_id, record.title) == ("2104.12255", "0")


@pytest.mark.parametrize(
    "name", ["id_0000.0000_s0_m100_8b51d9633a68.json", "id_0808.05394_s0_m100_7b0c7d0a7cdd.json"]
)
def test_unknown_ids_give_an_empty_page_without_error(shared_data: Path, name: str) -> None:
    page = _page(shared_data, name)
    assert (page.records, page.total_results, page.error) == ([], 0, None)


def test_error_feed_becomes_a_record_error(shared_data: Path) -> None:
    name = "id_abc_s0_m100_b79c8dcf6bc3.json"
    body = _recorded(shared_data, name)[1]
    (error,) = parse_arxiv_atom(io.BytesIO(body), origin=name)
    assert isinstance(error, RecordError)
    assert error.origin == name
    assert error.reason == "arXiv API error: incorrect id format for abc"
    assert error.location.startswith("line ")
    page = parse_atom_page(body, origin=name)
    assert page.records == []
    assert page.error == "incorrect id format for abc"


LEGACY = {
    "query-1.xml": 1,
    "query-2.xml": 2,
    "query-3.xml": 1,
    "query-4.xml": 10,
    "query-5.xml": 10,
}


@pytest.mark.parametrize(("name", "count"), LEGACY.items())
def test_legacy_responses(shared_data: Path, name: str, count: int) -> None:
    with (shared_data / "arxiv-api-atom" / "legacy-2016" / name).open("rb") as stream:
        records = _records(list(parse_arxiv_atom(stream, origin=name)))
    assert len(records) == count


def test_legacy_entry_with_two_versions(shared_data: Path) -> None:
    data = (shared_data / "arxiv-api-atom" / "legacy-2016" / "query-1.xml").read_bytes()
    page = parse_atom_page(data, origin="query-1.xml")
    (record,) = _records(page.records)
    assert (page.total_results, page.start_index, page.items_per_page) == (1, 0, 10)
    assert record.paper_id == "1111.2011"
    # the title is wrapped over two lines in the file
    expected = (
        "Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit"
    )
    assert record.title == expected
    # primary category listed once, first, although the feed names it twice
    assert record.categories == ["cond-mat.str-el", "cond-mat.stat-mech"]
    assert record.versions == [
        PaperVersion(1, datetime(2011, 11, 8, 18, 48, 36, tzinfo=UTC)),
        PaperVersion(2, datetime(2012, 4, 2, 12, 38, 54, tzinfo=UTC)),
    ]
    assert record.updated == datetime(2012, 4, 2, 12, 38, 54, tzinfo=UTC)
    assert record.doi == "10.1103/physrevb.85.115117"
    assert record.journal_ref == "Phys. Rev. B 85, 115117 (2012)"


def test_truncated_response_keeps_entries_before_the_cut(shared_data: Path) -> None:
    name = "q_testing_s0_m10_bc5a6c384fe9.json"
    body = _recorded(shared_data, name)[1]
    cut = body[: len(body) // 2]
    complete_entries = cut.count(b"</entry>")
    items = list(parse_arxiv_atom(io.BytesIO(cut), origin=name))
    assert len(_records(items[:-1])) == complete_entries >= 3
    error = items[-1]
    assert isinstance(error, RecordError)
    last_line = cut.count(b"\n") + 1
    assert error.location == f"line {last_line}"
    assert error.reason.startswith("malformed XML")
    page = parse_atom_page(cut, origin=name)
    assert len(page.records) == complete_entries
    assert page.error is not None and page.error.startswith("line ")


def _entry(entry_id: str, title: str | None, *, authors: int = 1) -> str:
    title_xml = f"<title>{title}</title>" if title is not None else ""
    names = "".join(f"<author><name>Author {n}</name></author>" for n in range(authors))
    return f"<entry><id>{entry_id}</id>{title_xml}{names}</entry>\n"


def _feed(*entries: str) -> bytes:
    return f'<feed xmlns="{ATOM}">\n{"".join(entries)}</feed>\n'.encode()


def test_bad_entries_become_errors_and_parsing_continues() -> None:
    data = _feed(
        _entry("http://arxiv.org/abs/2101.00001v1", None),
        _entry("http://example.org/not-arxiv", "No id"),
        _entry("http://arxiv.org/abs/2101.00003v1", "t" * 2_001),
        _entry("http://arxiv.org/abs/2101.00004v1", "Many authors", authors=10_001),
        _entry("http://arxiv.org/abs/2101.00005v2", "Good"),
    )
    items = list(parse_arxiv_atom(io.BytesIO(data), origin="made.xml"))
    errors = [item for item in items if isinstance(item, RecordError)]
    assert [(e.location, e.reason) for e in errors] == [
        ("line 2", "2101.00001: entry has no title"),
        ("line 3", "no usable arXiv id in <id> 'http://example.org/not-arxiv'"),
        ("line 4", "2101.00003: title is 2,001 characters (limit 2,000)"),
        ("line 5", "2101.00004: more than 10,000 authors (10,001)"),
    ]
    good = items[-1]
    assert isinstance(good, PaperRecord)
    assert (good.paper_id, good.title) == ("2101.00005", "Good")
    # v2 in the id says a v1 exists too; this entry states no dates for either
    assert good.versions == [PaperVersion(1), PaperVersion(2)]


def test_entity_bomb_gives_one_clear_error() -> None:
    data = b'<!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa">]>\n' + _feed(
        _entry("http://arxiv.org/abs/2101.00001v1", "&a;")
    )
    (error,) = parse_arxiv_atom(io.BytesIO(data), origin="bomb.xml")
    assert error == RecordError("bomb.xml", "line 1", "DTD entity declarations are not allowed")
