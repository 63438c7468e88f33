"""arXiv OAI-PMH responses (metadataPrefix arXivRaw, arXiv or oai_dc) -> PaperRecords.

`parse_oai_pmh` streams a saved response or a concatenated harvest of any size;
`parse_oai_page` reads one ListRecords/GetRecord page for the harvester and also returns the
resumption token and any OAI error. Both share `_iter_oai`. Deleted records are skipped.

OAI `noRecordsMatch` (an empty date range or set) is not an error in the stream: it yields
nothing. `parse_oai_page` still reports it in `error_code`, with an empty record list.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, BinaryIO

from dailypapers.ids import clean_text, normalize_arxiv_id, normalize_doi, split_arxiv_id
from dailypapers.limits import MAX_AUTHORS, limit_problem
from dailypapers.models import PaperRecord, PaperVersion, RecordError, SourceName
from dailypapers.sources.xmlsafe import (
    XmlStreamError,
    child_text,
    child_texts,
    first_doi,
    iter_elements,
    parse_email_datetime,
    parse_iso_datetime,
)

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
ARXIV_RAW_NS = "http://arxiv.org/OAI/arXivRaw/"
ARXIV_NS = "http://arxiv.org/OAI/arXiv/"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"

# Not an OAI-PMH code: set in OaiPage.error_code when the response itself is broken XML,
# so a harvester never mistakes a truncated page (no resumptionToken) for the last one.
MALFORMED_XML_CODE = "malformedXML"
NO_RECORDS_MATCH = "noRecordsMatch"

_RECORD = f"{{{OAI_NS}}}record"
_ERROR = f"{{{OAI_NS}}}error"
_RESUMPTION_TOKEN = f"{{{OAI_NS}}}resumptionToken"
_TAGS = (_RECORD, _ERROR, _RESUMPTION_TOKEN)
_HEADER = f"{{{OAI_NS}}}header"
_IDENTIFIER = f"{{{OAI_NS}}}identifier"
_METADATA = f"{{{OAI_NS}}}metadata"

_RAW = f"{{{ARXIV_RAW_NS}}}"
_ARX = f"{{{ARXIV_NS}}}"
_DC = f"{{{DC_NS}}}"

# arXiv author strings: "A, B, and C" / "A and B"; affiliations sit in (nested) parentheses.
_AUTHOR_SEPARATOR = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+")
_INNER_PARENTHESES = re.compile(r"\([^()]*\)")
_NAME_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})


@dataclass(slots=True)
class OaiPage:
    """One OAI-PMH response: its records, where the list goes on, and any error.

    An empty or None `resumption_token` means the list is complete. `error_code` is the OAI
    code (`badResumptionToken`, `noRecordsMatch`, ...) or MALFORMED_XML_CODE.
    """

    records: list[PaperRecord | RecordError] = field(default_factory=list)
    resumption_token: str | None = None
    complete_list_size: int | None = None
    cursor: int | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class _OaiError:
    location: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class _Resumption:
    token: str | None
    complete_list_size: int | None
    cursor: int | None


_Item = PaperRecord | RecordError | _OaiError | _Resumption | XmlStreamError


def parse_oai_pmh(stream: BinaryIO, *, origin: str) -> Iterator[PaperRecord | RecordError]:
    """Stream records out of OAI-PMH XML; bad records and OAI errors become RecordErrors."""
    for item in _iter_oai(stream, origin):
        if isinstance(item, PaperRecord | RecordError):
            yield item
        elif isinstance(item, _OaiError) and item.code != NO_RECORDS_MATCH:
            yield RecordError(origin, item.location, f"OAI-PMH error {item.code}: {item.message}")
        elif isinstance(item, XmlStreamError):
            yield RecordError(origin, item.location, item.reason)


def parse_oai_page(data: bytes, *, origin: str) -> OaiPage:
    """Parse one whole OAI-PMH response into records, resumption token and error."""
    page = OaiPage()
    for item in _iter_oai(io.BytesIO(data), origin):
        if isinstance(item, PaperRecord | RecordError):
            page.records.append(item)
        elif isinstance(item, _Resumption):
            page.resumption_token = item.token
            page.complete_list_size = item.complete_list_size
            page.cursor = item.cursor
        elif isinstance(item, _OaiError):
            page.error_code = page.error_code or item.code
            page.error_message = page.error_message or item.message
        else:
            page.error_code = MALFORMED_XML_CODE
            page.error_message = f"{item.location}: {item.reason}"
    return page


def _iter_oai(stream: BinaryIO, origin: str) -> Iterator[_Item]:
    number = 0
    try:
        for element in iter_elements(stream, _TAGS):
            if element.tag == _RECORD:
                number += 1
                record = _convert_record(element, number, origin)
                if record is not None:
                    yield record
            elif element.tag == _ERROR:
                location = f"line {element.sourceline}"
                message = clean_text(element.text) or ""
                yield _OaiError(location, element.get("code") or "unknown", message)
            else:
                yield _resumption(element)
    except XmlStreamError as exc:
        yield exc


def _resumption(element: Any) -> _Resumption:
    return _Resumption(
        token=(element.text or "").strip() or None,
        complete_list_size=_int_or_none(element.get("completeListSize")),
        cursor=_int_or_none(element.get("cursor")),
    )


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _convert_record(element: Any, number: int, origin: str) -> PaperRecord | RecordError | None:
    """One <record>: a PaperRecord, a RecordError saying why not, or None when deleted."""
    header = element.find(_HEADER)
    identifier = child_text(header, _IDENTIFIER) if header is not None else None
    location = f"record {number} ({identifier or f'line {element.sourceline}'})"
    if header is not None and header.get("status") == "deleted":
        return None
    metadata = element.find(_METADATA)
    if metadata is None or len(metadata) == 0:
        return RecordError(origin, location, "record has no metadata")
    payload = metadata[0]
    convert = _CONVERTERS.get(payload.tag)
    if convert is None:
        return RecordError(origin, location, f"unsupported metadata format {payload.tag}")
    result = convert(payload, identifier)
    if isinstance(result, str):
        return RecordError(origin, location, result)
    problem = limit_problem(result)
    return RecordError(origin, location, problem) if problem else result


def _id_and_title(raw_id: str | None, title: str | None) -> tuple[str, str] | str:
    """The normalised id and title, or the reason a record without them is refused."""
    paper_id = normalize_arxiv_id(raw_id) if raw_id else None
    if paper_id is None:
        return f"no usable arXiv id ({raw_id!r})"
    if title is None:
        return f"{paper_id}: record has no title"
    return paper_id, title


def _from_arxiv_raw(meta: Any, header_id: str | None) -> PaperRecord | str:
    # arXivRaw is the bulk harvest format: read the children once instead of one find each.
    texts = child_texts(meta)
    checked = _id_and_title(
        clean_text(texts.get(f"{_RAW}id")) or header_id, clean_text(texts.get(f"{_RAW}title"))
    )
    if isinstance(checked, str):
        return checked
    paper_id, title = checked
    versions = _raw_versions(meta)
    authors = split_arxiv_authors(clean_text(texts.get(f"{_RAW}authors")))
    return PaperRecord(
        source=SourceName.ARXIV_OAI,
        title=title,
        paper_id=paper_id,
        abstract=clean_text(texts.get(f"{_RAW}abstract")),
        authors=authors,
        author_count=len(authors) or None,
        categories=list(dict.fromkeys((texts.get(f"{_RAW}categories") or "").split())),
        versions=versions,
        published=versions[0].created if versions else None,
        updated=versions[-1].created if versions else None,
        doi=first_doi(texts.get(f"{_RAW}doi")),
        journal_ref=clean_text(texts.get(f"{_RAW}journal-ref")),
        comments=clean_text(texts.get(f"{_RAW}comments")),
        license=clean_text(texts.get(f"{_RAW}license")),
        abs_url=f"https://arxiv.org/abs/{paper_id}",
        pdf_url=f"https://arxiv.org/pdf/{paper_id}",
    )


def _raw_versions(meta: Any) -> list[PaperVersion]:
    versions = []
    for element in meta.iterfind(f"{_RAW}version"):
        label = (element.get("version") or "").strip().lower().removeprefix("v")
        if label.isdigit():
            created = parse_email_datetime(element.findtext(f"{_RAW}date"))
            versions.append(PaperVersion(int(label), created))
    return sorted(versions, key=lambda version: version.number)


def _from_arxiv(meta: Any, header_id: str | None) -> PaperRecord | str:
    checked = _id_and_title(
        child_text(meta, f"{_ARX}id") or header_id, child_text(meta, f"{_ARX}title")
    )
    if isinstance(checked, str):
        return checked
    paper_id, title = checked
    authors = _arxiv_authors(meta)
    published = parse_iso_datetime(meta.findtext(f"{_ARX}created"))
    return PaperRecord(
        source=SourceName.ARXIV_OAI,
        title=title,
        paper_id=paper_id,
        abstract=child_text(meta, f"{_ARX}abstract"),
        authors=authors,
        author_count=len(authors) or None,
        categories=(child_text(meta, f"{_ARX}categories") or "").split(),
        published=published,
        updated=parse_iso_datetime(meta.findtext(f"{_ARX}updated")) or published,
        doi=first_doi(child_text(meta, f"{_ARX}doi")),
        journal_ref=child_text(meta, f"{_ARX}journal-ref"),
        comments=child_text(meta, f"{_ARX}comments"),
        license=child_text(meta, f"{_ARX}license"),
        abs_url=f"https://arxiv.org/abs/{paper_id}",
        pdf_url=f"https://arxiv.org/pdf/{paper_id}",
    )


def _arxiv_authors(meta: Any) -> list[str]:
    """`<author><keyname/><forenames/><suffix/></author>` as "Forenames Keyname Suffix"."""
    names = []
    for author in islice(meta.iterfind(f"{_ARX}authors/{_ARX}author"), MAX_AUTHORS + 1):
        parts = (child_text(author, f"{_ARX}{tag}") for tag in ("forenames", "keyname", "suffix"))
        name = " ".join(part for part in parts if part)
        if name:
            names.append(name)
    return names


def _from_oai_dc(meta: Any, header_id: str | None) -> PaperRecord | str:
    identifiers = [clean_text(e.text) or "" for e in meta.iterfind(f"{_DC}identifier")]
    abs_link = next((i for i in identifiers if split_arxiv_id(i)), None)
    checked = _id_and_title(abs_link or header_id, child_text(meta, f"{_DC}title"))
    if isinstance(checked, str):
        return checked
    paper_id, title = checked
    descriptions = [clean_text(e.text) for e in meta.iterfind(f"{_DC}description")]
    comment = next((d for d in descriptions if d and d.startswith("Comment:")), None)
    dates = [parse_iso_datetime(e.text) for e in meta.iterfind(f"{_DC}date")]
    creators = islice(meta.iterfind(f"{_DC}creator"), MAX_AUTHORS + 1)
    authors = [name for name in (_inverted_name(e.text) for e in creators) if name]
    return PaperRecord(
        source=SourceName.ARXIV_OAI,
        title=title,
        paper_id=paper_id,
        abstract=next((d for d in descriptions if d and d != comment), None),
        authors=authors,
        author_count=len(authors) or None,
        published=dates[0] if dates else None,
        updated=dates[-1] if dates else None,
        doi=next(filter(None, (normalize_doi(i) for i in identifiers)), None),
        journal_ref=_dc_journal_ref(identifiers),
        comments=clean_text(comment.removeprefix("Comment:")) if comment else None,
        license=child_text(meta, f"{_DC}rights"),
        abs_url=f"https://arxiv.org/abs/{paper_id}",
        pdf_url=f"https://arxiv.org/pdf/{paper_id}",
    )


def _dc_journal_ref(identifiers: list[str]) -> str | None:
    # arXiv's oai_dc lists the abs URL, "doi:..." and the journal reference as dc:identifier.
    for identifier in identifiers:
        is_link = identifier.startswith(("http://", "https://"))
        if identifier and not is_link and not normalize_doi(identifier):
            return identifier
    return None


def _inverted_name(text: str | None) -> str | None:
    """dc:creator "Last, First" -> "First Last"; names without a comma stay as they are."""
    name = clean_text(text)
    if name is None or "," not in name:
        return name
    last, first = (part.strip() for part in name.split(",", 1))
    return f"{first} {last}".strip() or None


_CONVERTERS: dict[str, Callable[[Any, str | None], PaperRecord | str]] = {
    f"{{{ARXIV_RAW_NS}}}arXivRaw": _from_arxiv_raw,
    f"{{{ARXIV_NS}}}arXiv": _from_arxiv,
    f"{{{OAI_DC_NS}}}dc": _from_oai_dc,
}


def split_arxiv_authors(text: str | None) -> list[str]:
    """Split arXiv's one-string author list ("A, B, and C (MIT)") into ordered names.

    Affiliations in parentheses are dropped; "Jr." and similar stay with their name.
    """
    if not text:
        return []
    while "(" in text:
        stripped = _INNER_PARENTHESES.sub(" ", text)
        if stripped == text:  # unbalanced "(": leave the rest as it is
            break
        text = stripped
    names: list[str] = []
    for part in islice(_AUTHOR_SEPARATOR.split(text), MAX_AUTHORS + 1):
        name = " ".join(part.split())
        if name and name.casefold() in _NAME_SUFFIXES and names:
            names[-1] = f"{names[-1]} {name}"
        elif name:
            names.append(name)
    return names
