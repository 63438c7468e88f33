"""The BibTeX parser on the real d2l bibliography (accents, case braces, TABs) and on errors."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dailypapers.models import PaperRecord, RecordError, SourceName
from dailypapers.sources import bibtex
from dailypapers.sources.bibtex import parse_bibtex


def _parse(text: str | bytes) -> list[PaperRecord | RecordError]:
    data = text.encode() if isinstance(text, str) else text
    return list(parse_bibtex(io.BytesIO(data), origin="refs.bib"))


@pytest.fixture(scope="module")
def d2l(shared_data: Path) -> dict[str, PaperRecord]:
    with (shared_data / "bibtex" / "d2l.bib").open("rb") as stream:
        items = list(parse_bibtex(stream, origin="d2l.bib"))
    assert not [item for item in items if isinstance(item, RecordError)]
    records = [item for item in items if isinstance(item, PaperRecord)]
    assert len(records) == 488
    by_title = {r.title: r for r in records}
    return by_title


def test_d2l_accents_braces_and_name_order(d2l: dict[str, PaperRecord]) -> None:
    tensorflow = d2l["TensorFlow: A system for large-scale machine learning"]
    assert tensorflow.source is SourceName.BIBTEX
    assert tensorflow.authors[0] == "Martín Abadi"
    assert tensorflow.authors[-1] == "Michael Isard"
    # "and et al." means the list is cut short: the true count is unknown.
    assert tensorflow.author_count is None
    assert tensorflow.journal_ref == (
        "12th USENIX Symposium on Operating Systems Design and Implementation (OSDI 16)"
    )
    assert tensorflow.published == datetime(2016, 1, 1, tzinfo=UTC)
    assert tensorflow.paper_id is None

    cajal = d2l[
        "Les Nouvelles Idées sur la Structure du Système Nerveux chez l'Homme et chez les Vertébrés"
    ]
    assert cajal.authors == ["Santiago Ramón y Cajal", "L. Azoulay"]
    assert cajal.author_count == 2

    representer = d2l["A generalized representer theorem"]
    assert representer.authors == ["B. Schölkopf", "R. Herbrich", "A. J. Smola"]


def test_d2l_venues_keep_unicode(d2l: dict[str, PaperRecord]) -> None:
    venues = {r.journal_ref for r in d2l.values()}
    assert "Zeitschrift für Wahrscheinlichkeitstheorie und verwandte Gebiete" in venues
    assert "IEEE/ACM Transactions on Audio, Speech, and Language Processing" in venues
    assert not [v for v in venues if v and ("{" in v or "\\" in v)]
    assert not [r.title for r in d2l.values() if "{" in r.title or "\\" in r.title]


def test_d2l_arxiv_ids_and_dois(d2l: dict[str, PaperRecord]) -> None:
    pad = d2l["Mind the PAD – CNNs can develop blind spots"]
    assert pad.paper_id == "2010.02178"
    assert pad.journal_ref is None
    assert d2l["Practical transfer learning for Bayesian optimization"].paper_id == "1802.02219"
    assert d2l["Large Language Models are Zero-Shot Reasoners"].paper_id == "2205.11916"
    review = next(r for r in d2l.values() if r.title.startswith("Text style transfer: A review"))
    assert review.paper_id == review.doi == "10.1145/3544903.3544906"
    llama = d2l["LLaMA: Open and efficient foundation language models"]
    assert (llama.paper_id, llama.published) == ("2302.13971", datetime(2023, 1, 1, tzinfo=UTC))
    assert sum(1 for r in d2l.values() if r.paper_id and r.paper_id[0].isdigit()) == 128


SYNTHETIC = r"""@Misc{ eprint2021,
  title = {An {E}print {P}aper},
  author = {M{\"u}ller, J{\'e}r{\^o}me and Doe, Jr, John and {Barnes and Noble}},
  eprint = {2101.00001v2}, archivePrefix = {arXiv},
  month = mar, year = 2021, doi = {10.5555/ABC}
}

@ARTICLE{broken2020,
  title = {Broken {entry,
  year = {2020}
}

@inproceedings{preprint2019,
  title = "Quoted \'{e}t\'{e}",
  journal = {arXiv preprint arXiv:1901.00002},
  month = {September}, year = {2019}
}

@article{eprint2021, title = {Duplicate key}}
"""


def test_synthetic_entries_and_a_broken_one() -> None:
    items = _parse(SYNTHETIC)

    assert [type(item) for item in items] == [PaperRecord, RecordError, PaperRecord, RecordError]
    first, broken, preprint, duplicate = items
    assert isinstance(first, PaperRecord) and isinstance(preprint, PaperRecord)
    assert first.title == "An Eprint Paper"
    assert first.authors == ["Jérôme Müller", "John Doe Jr", "Barnes and Noble"]
    assert first.paper_id == "2101.00001"
    assert first.doi == "10.5555/abc"
    assert first.published == datetime(2021, 3, 1, tzinfo=UTC)
    assert isinstance(broken, RecordError)
    assert (broken.origin, broken.location) == ("refs.bib", "entry broken2020 (line 8)")
    assert preprint.title == "Quoted été"
    assert preprint.paper_id == "1901.00002"
    assert preprint.published == datetime(2019, 9, 1, tzinfo=UTC)
    assert isinstance(duplicate, RecordError)
    assert duplicate.location == "entry eprint2021 (line 19)"
    assert "duplicate" in duplicate.reason


def test_latin1_bytes_fail_only_their_entry() -> None:
    data = (
        b"@article{good, title={Good}, year={2020}}\n"
        b"@article{bad,\n  title={Caf\xe9},\n  year={2020}\n}\n"
        b"@article{also, title={Also good}}\n"
    )

    items = _parse(data)

    errors = [item for item in items if isinstance(item, RecordError)]
    assert [e.location for e in errors] == ["line 3"]
    assert "UTF-8" in errors[0].reason
    assert [r.title for r in items if isinstance(r, PaperRecord)] == ["Good", "Also good"]


def test_absurd_and_untitled_entries_are_errors() -> None:
    items = _parse("@article{long, title={" + "x" * 2001 + "}}\n@article{untitled, year={2001}}\n")

    assert [(e.location, e.reason[:20]) for e in items if isinstance(e, RecordError)] == [
        ("entry long (line 1)", "title is 2,001 chara"),
        ("entry untitled (line 2)", "entry has no title"),
    ]


def test_files_over_the_size_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bibtex, "MAX_BIBTEX_BYTES", 100)

    items = _parse("@article{a, title={" + "x" * 200 + "}}")

    assert len(items) == 1
    assert isinstance(items[0], RecordError)
    assert "larger than 50 MB" in items[0].reason


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        # The entry: read as "Extra" followed by free text, before this check.
        ("@article{bad, title={Extra}} Closing}, year={2021}}", "a '}' too many"),
        ("@article{bad,\n  title={Extra}},\n  year={2021}\n}", "a '}' too many"),
        ("@article{bad, title={Extra}, year={2021}}}", "a '}' too many"),
        ("@article{bad, title={Extra} Closing}, year={2021}}", "field 'title' goes on after"),
        ("@article{bad, title={Extra} year={2021}}", "field 'title' goes on after"),
        ("@article{bad, title={Extra}, year=2021 extra}", "field 'year' goes on after"),
        ('@article{bad, title="Extra {open", year={2021}}', "field 'title' has unbalanced"),
    ],
)
def test_an_entry_read_only_by_guessing_is_a_failure(entry: str, reason: str) -> None:
    items = _parse(
        f"@article{{before, title={{Before}}}}\n{entry}\n@article{{after, title={{After}}}}\n"
    )

    errors = [item for item in items if isinstance(item, RecordError)]
    assert [(e.location, e.reason[:18]) for e in errors] == [
        ("entry bad (line 2)", "malformed BibTeX: ")
    ]
    assert reason in errors[0].reason
    assert [r.title for r in items if isinstance(r, PaperRecord)] == ["Before", "After"]


def test_values_bibtex_allows_are_not_failures() -> None:
    items = _parse(
        '@string{conf = "Conference"}\n'
        "% a comment with {braces}\n"
        "@article{ok, title = {A \\{ brace and {Nested {groups}}}, booktitle = conf,\n"
        '  month = jan, year = 2021, note = "quoted {with} braces", pages = {1--2} # {3}}\n'
        "free text after an entry\n"
    )

    [record] = items
    assert isinstance(record, PaperRecord)
    assert record.title == "A { brace and Nested groups"
    assert record.journal_ref == "Conference"  # @string macros are still resolved
