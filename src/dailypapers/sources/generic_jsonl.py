"""A generic JSON-lines import format for sources that have no parser of their own.

One JSON object per line, UTF-8, blank lines ignored, at most 1 MiB per line. Keys:

=============  ========  ==============================================================
key            required  value
=============  ========  ==============================================================
id             yes [1]   string or integer. An arXiv id or arXiv URL (``2104.12255v2``,
                         ``https://arxiv.org/abs/hep-th/9901001``) is normalised to the
                         bare arXiv id; a DOI (``10.1000/xyz``, ``doi:...``,
                         ``https://doi.org/...``) to the lower-case DOI; anything else is
                         kept verbatim (surrounding spaces removed). Floats are refused:
                         ``2104.1230`` as a number has already lost its last digit.
_id            no        alias of ``id``, used when ``id`` is absent (BEIR corpora).
title          yes       string; whitespace runs collapse to one space; at most 2,000
                         characters.
abstract       no        string, at most 100,000 characters.
text           no        alias of ``abstract``, used when ``abstract`` is absent (BEIR).
authors        no        list of strings, or one string split on ``;`` when it contains
                         one, otherwise on ``,`` and `` and ``. At most 10,000 names.
published      no        ISO 8601 date (``2024-10-22``) or datetime; a datetime without
                         offset is taken as UTC; a date means midnight UTC.
updated        no        as ``published``.
categories     no        list of strings or one space-separated string, primary first.
url            no        string: the paper's landing (abstract) page.
pdf_url        no        string.
code_url       no        string: source code repository.
doi            no        string holding a DOI in any of the forms above.
journal_ref    no        string.
comments       no        string.
license        no        string (a licence URL or name).
=============  ========  ==============================================================

[1] A line without ``id`` (or with an empty one) is still imported when it has a title: the
store then matches it to a known paper by normalised title. Other keys are ignored. Strings
that are empty after trimming count as absent. A value of the wrong type, an unreadable date
or a malformed DOI makes that line an error; the other lines are still imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO

from dailypapers.dates import parse_iso_datetime
from dailypapers.ids import clean_text, normalize_arxiv_id, normalize_doi
from dailypapers.models import PaperRecord, RecordError, SourceName
from dailypapers.sources.jsonlines import (
    optional_str,
    records_from_json_lines,
)

_AUTHOR_SEPARATORS = re.compile(r"\s*,\s*|\s+and\s+")


def parse_generic_jsonl(stream: BinaryIO, *, origin: str) -> Iterator[PaperRecord | RecordError]:
    """Yield one PaperRecord per line of the generic format, or a RecordError naming the line."""
    yield from records_from_json_lines(stream, origin=origin, convert=_record_from_line)


def _record_from_line(obj: dict[str, Any]) -> PaperRecord:
    title = clean_text(optional_str(obj, "title"))
    if title is None:
        raise ValueError("missing field 'title'")
    doi = _doi(optional_str(obj, "doi"))
    paper_id = _paper_id(obj.get("id") if obj.get("id") is not None else obj.get("_id"))
    if doi is None and paper_id is not None:
        doi = normalize_doi(paper_id)
    authors = _authors(obj.get("authors"))
    abstract_key = "abstract" if obj.get("abstract") is not None else "text"
    return PaperRecord(
        source=SourceName.GENERIC,
        title=title,
        paper_id=paper_id,
        abstract=clean_text(optional_str(obj, abstract_key)),
        authors=authors,
        author_count=len(authors) or None,
        categories=_categories(obj.get("categories")),
        published=_datetime(obj, "published"),
        updated=_datetime(obj, "updated"),
        doi=doi,
        journal_ref=clean_text(optional_str(obj, "journal_ref")),
        comments=clean_text(optional_str(obj, "comments")),
        license=optional_str(obj, "license"),
        abs_url=optional_str(obj, "url"),
        pdf_url=optional_str(obj, "pdf_url"),
        code_url=optional_str(obj, "code_url"),
    )


def _paper_id(raw: Any) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, float):
        raise TypeError(f"field 'id' is a number with a fraction ({raw!r}): quote it as a string")
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise TypeError(f"field 'id' must be a string or an integer, not {type(raw).__name__}")
    text = str(raw).strip()
    if not text:
        return None
    return normalize_arxiv_id(text) or normalize_doi(text) or text


def _doi(raw: str | None) -> str | None:
    if raw is None:
        return None
    doi = normalize_doi(raw)
    if doi is None:
        raise ValueError(f"field 'doi' is not a DOI: {raw!r}")
    return doi


def _authors(raw: Any) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        parts = raw.split(";") if ";" in raw else _AUTHOR_SEPARATORS.split(raw)
    elif isinstance(raw, list) and all(isinstance(name, str) for name in raw):
        parts = raw
    else:
        raise TypeError("field 'authors' must be a list of strings or one string")
    return [name for name in (clean_text(part) for part in parts) if name]


def _categories(raw: Any) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return raw.split()
    if isinstance(raw, list) and all(isinstance(value, str) for value in raw):
        return [value.strip() for value in raw if value.strip()]
    raise TypeError("field 'categories' must be a list of strings or one string")


def _datetime(obj: dict[str, Any], key: str) -> datetime | None:
    text = optional_str(obj, key)
    if text is None:
        return None
    try:
        return parse_iso_datetime(text)
    except ValueError:
        raise ValueError(f"field {key!r} is not an ISO 8601 date or datetime: {text!r}") from None
