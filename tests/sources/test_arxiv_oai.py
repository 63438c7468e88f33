"""arXiv OAI-PMH: real arXivRaw responses and errors, the arXiv and oai_dc formats, paging."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dailypapers.models import PaperRecord, PaperVersion, RecordError, SourceName
from dailypapers.sources.arxiv_oai import (
    MALFORMED_XML_CODE,
    parse_oai_page,
    parse_oai_pmh,
    split_arxiv_authors,
)

OAI_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">\n<ListRecords>\n'
)
OAI_CLOSE = "</ListRecords>\n</OAI-PMH>\n"
RAW_NS = "http://arxiv.org/OAI/arXivRaw/"


def _path(shared_data: Path, name: str) -> Path:
    return shared_data / "arxiv-oai-pmh" / name


def _parse_file(path: Path) -> list[PaperRecord | RecordError]:
    with path.open("rb") as stream:
        return list(parse_oai_pmh(stream, origin=path.name))


def _records(items: list[PaperRecord | RecordError]) -> list[PaperRecord]:
    assert all(isinstance(item, PaperRecord) for item in items), items
    return [item for item in items if isinstance(item, PaperRecord)]


def _by_id(records: list[PaperRecord]) -> dict[str | None, PaperRecord]:
    return {record.paper_id: record for record in records}


def test_list_records_page_with_resumption_token(shared_data: Path) -> None:
    page = parse_oai_page(_path(shared_data, "ListRecordsResponse.xml").read_bytes(), origin="p")
    records = _records(page.records)
    assert [r.paper_id for r in records] == [
        "0704.0471",
        "0704.0716",
        "0704.0874",
        "0704.1109",
        "0704.1114",
        "0704.1586",
    ]
    assert (page.resumption_token, page.complete_list_size, page.cursor) == (
        "726959|1001",
        58011,
        0,
    )
    assert (page.error_code, page.error_message) == (None, None)


def test_arxiv_raw_fields(shared_data: Path) -> None:
    records = _by_id(_records(_parse_file(_path(shared_data, "ListRecordsResponse.xml"))))
    shetty = records["0704.0471"]
    assert shetty.source is SourceName.ARXIV_OAI
    assert shetty.title == (
        "Density dependence of the symmetry energy and the nuclear equation of state: "
        "A Dynamical and Statistical model perspective"
    )
    assert shetty.authors == ["D.V. Shetty", "S.J. Yennello", "G.A. Souliotis"]
    assert shetty.categories == ["nucl-ex", "nucl-th"]
    assert shetty.doi == "10.1103/physrevc.76.024606"  # the first of two DOIs
    assert shetty.journal_ref == "Phys.Rev.C76:024606,2007; Erratum-ibid.C76:039902,2007"
    assert shetty.abstract is not None and 'extremely " stiff " and " soft "' in shetty.abstract
    assert shetty.license is None

    richard = records["0704.0716"]
    assert [v.number for v in richard.versions] == [1, 2, 3, 4]
    assert richard.published == datetime(2007, 4, 5, 12, 45, 3, tzinfo=UTC)
    assert richard.updated == datetime(2008, 11, 14, 9, 7, 25, tzinfo=UTC)
    assert richard.comments == (
        "54 pages, 2 figures; v2 updated and slightly expanded; v3 changes in some proofs; "
        "v4 slightly expanded"
    )
    assert richard.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert richard.categories == ["math-ph", "math.MP"]
    assert richard.abs_url == "https://arxiv.org/abs/0704.0716"
    assert records["0704.1109"].authors == ["Valeria M. Rosa", "Patricio S. letelier"]


def test_get_record_response(shared_data: Path) -> None:
    (record,) = _records(_parse_file(_path(shared_data, "GetRecordResponse.xml")))
    assert record.paper_id == "1302.2146"
    assert record.title == "The Same-Sign Dilepton Signature of RPV/MFV SUSY"
    assert record.authors == [
        "Joshua Berger",
        "Maxim Perelstein",
        "Michael Saelim",
        "Philip Tanedo",
    ]
    assert record.categories == ["hep-ph", "hep-ex"]
    assert record.versions == [
        PaperVersion(1, datetime(2013, 2, 8, 21, 0, 1, tzinfo=UTC)),
        PaperVersion(2, datetime(2013, 4, 2, 1, 50, 8, tzinfo=UTC)),
    ]
    assert record.published == record.versions[0].created
    assert record.updated == record.versions[1].created


def test_get_record_with_author_list_wrapped_over_lines(shared_data: Path) -> None:
    (record,) = _records(_parse_file(_path(shared_data, "GetRecord-2.xml")))
    assert record.title == "Object Re-Use & Exchange: A Resource-Centric Approach"
    assert record.authors == [
        "Carl Lagoze",
        "Herbert Van de Sompel",
        "Michael L. Nelson",
        "Simeon Warner",
        "Robert Sanderson",
        "Pete Johnston",
    ]
    assert record.license == "http://creativecommons.org/licenses/by/3.0/"


def test_reindented_387_records_are_whitespace_normalised(shared_data: Path) -> None:
    path = _path(shared_data, "ListRecords-387-reindented.xml")
    page = parse_oai_page(path.read_bytes(), origin=path.name)
    records = _records(page.records)
    assert len(records) == 387
    assert (page.resumption_token, page.complete_list_size) == ("1403493|1001", 1440)
    for record in records:
        for text in (record.title, record.abstract, record.comments, record.journal_ref):
            assert text is None or (text == text.strip() and "  " not in text and "\n" not in text)
    first = records[0]
    assert first.paper_id == "0803.4354"
    assert first.title == (
        "A O(n^8) X O(n^7) Linear Programming Model of the Traveling Salesman Problem"
    )
    assert len(first.versions) == 6
    assert first.updated == datetime(2016, 10, 20, 16, 58, 38, tzinfo=UTC)


def test_reindented_387_author_lists_with_affiliations(shared_data: Path) -> None:
    records = _by_id(_records(_parse_file(_path(shared_data, "ListRecords-387-reindented.xml"))))
    assert records["1408.0799"].authors == [
        "Maciej Bilicki",
        "John A. Peacock",
        "Thomas H. Jarrett",
        "Michelle E. Cluver",
        "Louise Steward",
    ]
    assert records["1408.0799"].categories == ["astro-ph.CO", "astro-ph.IM"]
    assert records["1509.04989"].authors[1] == "Manoel M. Ferreira Jr."
    besiii = max(records.values(), key=lambda record: len(record.authors))
    assert besiii.authors[:2] == ["M. Ablikim", "M. N. Achasov"]
    assert besiii.authors[-1] == "J. H. Zou"
    assert besiii.author_count == len(besiii.authors) == 434


ERRORS = {
    "ErrorResponseBadArgument.xml": ("badArgument", "Verb 'ListRecords', illegal argument"),
    "ErrorResponseBadResumptionToken.xml": ("badResumptionToken", "The resumptionToken supplied"),
    "ErrorResponseBadVerb.xml": ("badVerb", "Bad verb. Verb 'wah' not implemented."),
    "ErrorResponseIdDoesNotExist.xml": ("idDoesNotExist", "Identifier 'oai:arXiv.org:0813.2274'"),
}


@pytest.mark.parametrize(("name", "expected"), ERRORS.items())
def test_oai_errors(shared_data: Path, name: str, expected: tuple[str, str]) -> None:
    code, message_start = expected
    path = _path(shared_data, name)
    (error,) = _parse_file(path)
    assert isinstance(error, RecordError)
    assert error.origin == name
    assert error.reason.startswith(f"OAI-PMH error {code}: {message_start}")
    page = parse_oai_page(path.read_bytes(), origin=name)
    assert page.records == []
    assert page.error_code == code
    assert page.error_message is not None and page.error_message.startswith(message_start)
    assert page.resumption_token is None


def test_no_records_match_is_an_empty_result(shared_data: Path) -> None:
    path = _path(shared_data, "ErrorResponseNoRecordsMatch.xml")
    assert _parse_file(path) == []
    page = parse_oai_page(path.read_bytes(), origin=path.name)
    assert (page.records, page.error_code) == ([], "noRecordsMatch")
    assert page.error_message == "Set argument doesn't match any sets. The setSpec was 'moo'"


def test_truncated_harvest_keeps_records_before_the_cut(shared_data: Path, tmp_path: Path) -> None:
    data = _path(shared_data, "ListRecords-387-reindented.xml").read_bytes()
    cut = data[: len(data) // 2]
    truncated = tmp_path / "truncated.xml"
    truncated.write_bytes(cut)
    items = _parse_file(truncated)
    assert len(_records(items[:-1])) == cut.count(b"</record>") > 150
    error = items[-1]
    assert isinstance(error, RecordError)
    assert error.origin == "truncated.xml"
    last_line = cut.count(b"\n") + 1
    assert error.location == f"line {last_line}"
    assert error.reason.startswith("malformed XML: ")
    page = parse_oai_page(cut, origin="truncated.xml")
    assert page.error_code == MALFORMED_XML_CODE
    assert page.resumption_token is None


def _raw_record(identifier: str, body: str, *, status: str = "") -> str:
    return (
        f"<record><header{status}><identifier>{identifier}</identifier></header>"
        f'<metadata><arXivRaw xmlns="{RAW_NS}">{body}</arXivRaw></metadata></record>\n'
    )


def _oai(*records: str) -> bytes:
    return (OAI_OPEN + "".join(records) + OAI_CLOSE).encode()


def test_old_style_id_and_deleted_records() -> None:
    data = _oai(
        _raw_record("oai:arXiv.org:quant-ph/0201082", "<id>quant-ph/0201082</id><title>Q</title>"),
        '<record><header status="deleted"><identifier>oai:arXiv.org:0704.0002</identifier>'
        "</header></record>\n",
        _raw_record("oai:arXiv.org:math/0309136", "<title>From the header</title>"),
    )
    records = _records(list(parse_oai_pmh(io.BytesIO(data), origin="x")))
    assert [(r.paper_id, r.title) for r in records] == [
        ("quant-ph/0201082", "Q"),
        ("math/0309136", "From the header"),
    ]
    assert records[0].pdf_url == "https://arxiv.org/pdf/quant-ph/0201082"


def test_bad_records_become_errors_and_parsing_continues() -> None:
    data = _oai(
        _raw_record("oai:arXiv.org:2101.00001", "<id>2101.00001</id>"),
        _raw_record("oai:example.org:x", "<title>No id</title>"),
        "<record><header><identifier>oai:arXiv.org:2101.00003</identifier></header></record>\n",
        _raw_record(
            "oai:arXiv.org:2101.00004", f"<title>T</title><abstract>{'a' * 100_001}</abstract>"
        ),
        "<record><header><identifier>oai:arXiv.org:2101.00005</identifier></header><metadata>"
        '<mods xmlns="http://www.loc.gov/mods/v3"/></metadata></record>\n',
        _raw_record("oai:arXiv.org:2101.00006", "<title>Fine</title>"),
    )
    items = list(parse_oai_pmh(io.BytesIO(data), origin="x"))
    errors = [(i.location, i.reason) for i in items if isinstance(i, RecordError)]
    assert errors == [
        ("record 1 (oai:arXiv.org:2101.00001)", "2101.00001: record has no title"),
        ("record 2 (oai:example.org:x)", "no usable arXiv id ('oai:example.org:x')"),
        ("record 3 (oai:arXiv.org:2101.00003)", "record has no metadata"),
        (
            "record 4 (oai:arXiv.org:2101.00004)",
            "abstract is 100,001 characters (limit 100,000)",
        ),
        (
            "record 5 (oai:arXiv.org:2101.00005)",
            "unsupported metadata format {http://www.loc.gov/mods/v3}mods",
        ),
    ]
    assert isinstance(items[-1], PaperRecord) and items[-1].paper_id == "2101.00006"


# Shaped like arXiv's own answers for 0704.0001 in the two other metadata formats.
ARXIV_FORMAT = """<record><header><identifier>oai:arXiv.org:0704.0001</identifier></header>
<metadata><arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>0704.0001</id><created>2007-04-02</created>
<updated>2007-07-24</updated><authors><author><keyname>Balázs</keyname><forenames>C.</forenames>
</author><author><keyname>Berger</keyname><forenames>E. L.</forenames></author><author>
<keyname>Smith</keyname><forenames>John</forenames><suffix>Jr</suffix></author><author>
<keyname>CMS Collaboration</keyname></author></authors><title>Calculation of prompt diphoton
  production cross sections at Tevatron and LHC energies</title>
<categories>hep-ph hep-ex</categories>
<comments>37 pages, 15 figures; published version</comments><report-no>ANL-HEP-PR-07-12</report-no>
<journal-ref>Phys.Rev.D76:013009,2007</journal-ref><doi>10.1103/PhysRevD.76.013009</doi>
<license>http://arxiv.org/licenses/nonexclusive-distrib/1.0/</license><abstract>  A fully
differential calculation in perturbative quantum chromodynamics is presented.
</abstract></arXiv></metadata></record>
"""

OAI_DC_FORMAT = """<record><header><identifier>oai:arXiv.org:0704.0001</identifier></header>
<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Calculation of prompt diphoton
  production cross sections at Tevatron and LHC energies</dc:title>
<dc:creator>Balázs, C.</dc:creator><dc:creator>Berger, E. L.</dc:creator>
<dc:creator>CMS Collaboration</dc:creator>
<dc:subject>High Energy Physics - Phenomenology</dc:subject><dc:description>  A fully
differential calculation in perturbative quantum chromodynamics is presented.</dc:description>
<dc:description>Comment: 37 pages, 15 figures; published version</dc:description>
<dc:date>2007-04-02</dc:date><dc:date>2007-07-24</dc:date><dc:type>text</dc:type>
<dc:identifier>http://arxiv.org/abs/0704.0001</dc:identifier>
<dc:identifier>Phys.Rev.D76:013009,2007</dc:identifier>
<dc:identifier>doi:10.1103/PhysRevD.76.013009</dc:identifier></oai_dc:dc></metadata></record>
"""

TITLE_0704_0001 = (
    "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
)
ABSTRACT_0704_0001 = (
    "A fully differential calculation in perturbative quantum chromodynamics is presented."
)


def test_arxiv_metadata_format() -> None:
    (record,) = _records(list(parse_oai_pmh(io.BytesIO(_oai(ARXIV_FORMAT)), origin="x")))
    assert record.paper_id == "0704.0001"
    assert record.title == TITLE_0704_0001
    assert record.abstract == ABSTRACT_0704_0001
    assert record.authors == ["C. Balázs", "E. L. Berger", "John Smith Jr", "CMS Collaboration"]
    assert record.categories == ["hep-ph", "hep-ex"]
    assert record.published == datetime(2007, 4, 2, tzinfo=UTC)
    assert record.updated == datetime(2007, 7, 24, tzinfo=UTC)
    assert record.doi == "10.1103/physrevd.76.013009"
    assert record.journal_ref == "Phys.Rev.D76:013009,2007"
    assert record.comments == "37 pages, 15 figures; published version"
    assert record.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"


def test_oai_dc_metadata_format() -> None:
    (record,) = _records(list(parse_oai_pmh(io.BytesIO(_oai(OAI_DC_FORMAT)), origin="x")))
    assert record.paper_id == "0704.0001"
    assert record.title == TITLE_0704_0001
    assert record.abstract == ABSTRACT_0704_0001
    assert record.authors == ["C. Balázs", "E. L. Berger", "CMS Collaboration"]
    assert record.categories == []  # dc:subject holds only prose names such as "High Energy ..."
    assert record.comments == "37 pages, 15 figures; published version"
    assert record.published == datetime(2007, 4, 2, tzinfo=UTC)
    assert record.updated == datetime(2007, 7, 24, tzinfo=UTC)
    assert record.doi == "10.1103/physrevd.76.013009"
    assert record.journal_ref == "Phys.Rev.D76:013009,2007"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("A. Smith", ["A. Smith"]),
        ("A. Smith and B. Jones", ["A. Smith", "B. Jones"]),
        ("A. Smith, B. Jones and C. Li", ["A. Smith", "B. Jones", "C. Li"]),
        ("A. Smith, B. Jones, and C. Li", ["A. Smith", "B. Jones", "C. Li"]),
        ("A and B and C", ["A", "B", "C"]),
        ("Alexander Anand, Sandy Andrews", ["Alexander Anand", "Sandy Andrews"]),
        ("Ann Lee (MIT, Cambridge), Bo Wu (1,2) ((1) X, (2) Y)", ["Ann Lee", "Bo Wu"]),
        ("John Smith, Jr., Jane Doe", ["John Smith Jr.", "Jane Doe"]),
        ("A. Broken (MIT, B. Jones", ["A. Broken (MIT", "B. Jones"]),
        ("  ", []),
        (None, []),
    ],
)
def test_split_arxiv_authors(text: str | None, names: list[str]) -> None:
    assert split_arxiv_authors(text) == names


MEMORY_CHECK = textwrap.dedent(
    """
    import io, itertools, resource
    from dailypapers.sources.arxiv_oai import parse_oai_pmh

    HEAD = b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>'
    BODY = ("<abstract>" + "word " * 600 + "</abstract>").encode()

    class Records(io.RawIOBase):
        def __init__(self, count):
            self.parts = itertools.chain([HEAD], map(self.record, range(count)),
                                         [b"</ListRecords></OAI-PMH>"])
            self.pending = b""
        def record(self, n):
            return (b'<record><header><identifier>oai:arXiv.org:2101.%05d</identifier>'
                    b'</header><metadata><arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/">'
                    b'<title>Paper %d</title>' % (n, n) + BODY + b'</arXivRaw></metadata></record>')
        def readable(self):
            return True
        def readinto(self, target):
            while not self.pending:
                self.pending = next(self.parts, b"")
                if not self.pending:
                    return 0
            size = min(len(target), len(self.pending))
            target[:size], self.pending = self.pending[:size], self.pending[size:]
            return size

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    count = sum(1 for _ in parse_oai_pmh(io.BufferedReader(Records(30_000)), origin="big"))
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(count, round(grown_mib))
    """
)


@pytest.mark.slow
def test_memory_stays_flat_on_a_large_stream() -> None:
    # 30,000 records of ~3 KB (90 MB of XML) generated on the fly; kept in memory as a tree
    # they would take hundreds of MiB. ru_maxrss is per process, hence the subprocess.
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_CHECK], capture_output=True, text=True, check=True
    )
    count, grown_mib = map(int, result.stdout.split())
    assert count == 30_000
    assert grown_mib < 40
