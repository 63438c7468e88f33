"""The formats a library comes in besides BibTeX: Zotero's CSL-JSON and RIS exports (as Zotero
7 writes them: an arXiv preprint, a journal article, a book chapter) and pasted lines of arXiv
ids, DOIs and URLs; each bad item is an error that names it."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import orjson

from dailypapers.models import PaperRecord, RecordError, SourceName
from dailypapers.sources.citations import PastedId, parse_pasted_ids
from dailypapers.sources.csl_json import parse_csl_json
from dailypapers.sources.ris import parse_ris

ZOTERO_CSL = [
    {
        "id": "http://zotero.org/users/local/Qf3kR/items/8ZK2N4YB",
        "type": "article",
        "abstract": "An important paradigm of natural language processing consists of ...",
        "DOI": "10.48550/arXiv.2106.09685",
        "note": "arXiv:2106.09685 [cs]",
        "number": "arXiv:2106.09685",
        "publisher": "arXiv",
        "source": "arXiv.org",
        "title": "LoRA: Low-Rank Adaptation of Large Language Models",
        "title-short": "LoRA",
        "URL": "http://arxiv.org/abs/2106.09685",
        "author": [
            {"family": "Hu", "given": "Edward J."},
            {"family": "Shen", "given": "Yelong"},
        ],
        "accessed": {"date-parts": [["2025", 5, 1]]},
        "issued": {"date-parts": [["2021", 10, 16]]},
    },
    {
        "id": "lecun2015",
        "type": "article-journal",
        "container-title": "Nature",
        "DOI": "10.1038/nature14539",
        "ISSN": "1476-4687",
        "issue": "7553",
        "page": "436-444",
        "title": "Deep learning",
        "URL": "https://www.nature.com/articles/nature14539",
        "volume": "521",
        "author": [
            {"family": "LeCun", "given": "Yann"},
            {"family": "Bengio", "given": "Yoshua"},
            {"literal": "The Deep Learning Consortium"},
        ],
        "issued": {"date-parts": [[2015, 5]]},
    },
    {"id": "no-title", "type": "webpage", "URL": "https://example.org"},
    "not an object",
    {
        "type": "chapter",
        "title": "Gradient-based learning applied to document recognition",
        "container-title": "Proceedings of the IEEE",
        "issued": {"raw": "1998-11"},
    },
]

ZOTERO_RIS = """\ufeffTY  - PREPRINT
TI  - LoRA: Low-Rank Adaptation of Large Language Models
AU  - Hu, Edward J.
AU  - Shen, Yelong
AB  - An important paradigm of natural language processing consists of large-scale
  pre-training on general domain data.
DA  - 2021/10/16/
PY  - 2021
DO  - 10.48550/arXiv.2106.09685
DP  - arXiv.org
PB  - arXiv
ST  - LoRA
UR  - http://arxiv.org/abs/2106.09685
N1  - arXiv:2106.09685 [cs]
KW  - Computer Science - Computation and Language
ER  -

TY  - JOUR
TI  - Deep learning
AU  - LeCun, Yann
AU  - Bengio, Yoshua
T2  - Nature
DA  - 2015/05//
PY  - 2015
DO  - 10.1038/nature14539
VL  - 521
SP  - 436
EP  - 444
UR  - https://www.nature.com/articles/nature14539
ER  -

TY  - CHAP
AU  - Nobody, Anne
PY  - 1999
ER  -
stray text
TY  - BOOK
T1  - Pattern Recognition and Machine Learning
A1  - Bishop, Christopher M.
Y1  - 2006
""".replace("ER  -\n", "ER  - \n")  # Zotero ends the line with the space


def _csl(value: object) -> list[PaperRecord | RecordError]:
    return list(parse_csl_json(io.BytesIO(orjson.dumps(value)), origin="zotero.json"))


def _ris(text: str) -> list[PaperRecord | RecordError]:
    return list(parse_ris(io.BytesIO(text.encode()), origin="zotero.ris"))


def test_zotero_csl_json_items() -> None:
    lora, nature, no_title, not_object, chapter = _csl(ZOTERO_CSL)
    assert isinstance(lora, PaperRecord)
    assert lora.source is SourceName.BIBTEX
    assert lora.paper_id == "2106.09685"  # arXiv's own DOI names the arXiv paper
    assert lora.doi is None
    assert lora.authors == ["Edward J. Hu", "Yelong Shen"]
    assert lora.published == datetime(2021, 10, 1, tzinfo=UTC)
    assert isinstance(nature, PaperRecord)
    assert (nature.paper_id, nature.doi, nature.journal_ref) == (
        "10.1038/nature14539",
        "10.1038/nature14539",
        "Nature",
    )
    assert nature.authors[-1] == "The Deep Learning Consortium"
    assert no_title == RecordError("zotero.json", "item 3 (no-title)", "item has no title")
    assert isinstance(not_object, RecordError) and not_object.location == "item 4"
    assert isinstance(chapter, PaperRecord) and chapter.paper_id is None
    assert chapter.published == datetime(1998, 11, 1, tzinfo=UTC)


def test_csl_json_that_is_not_a_library_is_one_error() -> None:
    (bad,) = list(parse_csl_json(io.BytesIO(b'[{"title": "A"},\n  oops]'), origin="x.json"))
    assert isinstance(bad, RecordError) and bad.location == "line 2"
    assert bad.reason.startswith("invalid JSON")
    (scalar,) = _csl(3)
    assert isinstance(scalar, RecordError) and "JSON array" in scalar.reason
    (single,) = _csl({"title": "One item alone", "DOI": "https://doi.org/10.5555/ABC"})
    assert isinstance(single, PaperRecord) and single.paper_id == "10.5555/abc"


def test_zotero_ris_records() -> None:
    lora, nature, no_title, stray, bishop = _ris(ZOTERO_RIS)
    assert isinstance(lora, PaperRecord)
    assert lora.paper_id == "2106.09685" and lora.doi is None
    assert lora.authors == ["Edward J. Hu", "Yelong Shen"]
    assert lora.abstract is not None and lora.abstract.endswith("general domain data.")
    assert lora.published == datetime(2021, 10, 1, tzinfo=UTC)
    assert isinstance(nature, PaperRecord)
    assert (nature.paper_id, nature.journal_ref) == ("10.1038/nature14539", "Nature")
    assert nature.published == datetime(2015, 5, 1, tzinfo=UTC)
    assert no_title == RecordError(
        "zotero.ris", "record 3 (line 32)", "record has no title (TI or T1)"
    )
    assert stray == RecordError("zotero.ris", "line 36", "not RIS outside a record: 'stray text'")
    # The last record has no ER line: it ends with the file.
    assert isinstance(bishop, PaperRecord) and bishop.authors == ["Christopher M. Bishop"]
    assert bishop.title == "Pattern Recognition and Machine Learning" and bishop.paper_id is None


def test_ris_tags_outside_a_record_are_named() -> None:
    first, second = _ris("TI  - Orphan\nER  - \n")
    assert first == RecordError("zotero.ris", "line 1", "TI outside a record (no TY before it)")
    assert second == RecordError("zotero.ris", "line 2", "ER without a TY line before it")


def test_pasted_ids_dois_and_urls() -> None:
    text = """
# my reading list
2106.09685
arXiv:1706.03762v5
https://arxiv.org/pdf/1512.03385v1.pdf
https://huggingface.co/papers/2410.05258
https://doi.org/10.1038/nature14539
10.48550/arXiv.2001.08361
https://dl.acm.org/doi/10.1145/3292500.3330701
hep-th/9901001
a paper I liked
"""
    items = list(parse_pasted_ids(text, origin="pasted"))
    found = [(i.arxiv_id, i.doi) for i in items if isinstance(i, PastedId)]
    assert found == [
        ("2106.09685", None),
        ("1706.03762", None),
        ("1512.03385", None),
        ("2410.05258", None),
        (None, "10.1038/nature14539"),
        ("2001.08361", None),
        (None, "10.1145/3292500.3330701"),
        ("hep-th/9901001", None),
    ]
    assert items[0].location == "line 3"
    assert items[-1] == RecordError(
        "pasted", "line 11", "'a paper I liked' is not an arXiv id, a DOI or a URL naming one"
    )
