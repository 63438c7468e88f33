"""What reference managers' exports share: finding an arXiv id or a DOI in a field, names as
"First Last", and the simplest export of all, pasted lines of arXiv ids, DOIs and URLs. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from dailypapers.ids import clean_text, normalize_arxiv_id, normalize_doi
from dailypapers.models import RecordError

# "arXiv:2106.09685", "arXiv preprint arXiv:2106.09685v2", "arxiv.org/abs/2106.09685",
# "arxiv.org/pdf/hep-th/9901001": a mention of an arXiv id inside a longer text.
_ARXIV_MENTION = re.compile(
    r"arxiv(?:\.org/(?:abs|pdf|html)/|\s*(?:preprint)?\s*(?:arxiv)?\s*:?\s*)"
    r"(\d{4}\.\d{4,5}(?:v\d+)?|[a-z\-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)",
    re.IGNORECASE,
)
# An arXiv id in any URL's path (Hugging Face, alphaXiv, this site's /papers/ pages).
_ID_IN_PATH = re.compile(r"/(\d{4}\.\d{4,5})(?:v\d+)?(?:[/?#.]|$)")
_DOI_IN_TEXT = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)")
# arXiv's own DOIs (DataCite, since 2022): 10.48550/arXiv.2106.09685 names that arXiv paper.
_ARXIV_DOI = re.compile(r"10\.48550/arxiv\.(.+)", re.IGNORECASE)
_YEAR_MONTH = re.compile(r"(?<!\d)(\d{4})(?:[-/](\d{1,2}))?")


def arxiv_id_in(text: str | None) -> str | None:
    """The arXiv id a field mentions ("arXiv:2106.09685 [cs]", an arxiv.org URL), or None."""
    if not text:
        return None
    direct = normalize_arxiv_id(text)
    if direct:
        return direct
    match = _ARXIV_MENTION.search(text.replace("{", "").replace("}", ""))
    return normalize_arxiv_id(match.group(1)) if match else None


def arxiv_id_of_doi(doi: str | None) -> str | None:
    """The arXiv id an arXiv DOI (10.48550/arXiv.N) stands for, else None."""
    match = _ARXIV_DOI.fullmatch(doi or "")
    return normalize_arxiv_id(match.group(1)) if match else None


def doi_in(text: str | None) -> str | None:
    """A DOI given as such, as a resolver URL, or inside a publisher's URL; None otherwise."""
    if not text:
        return None
    direct = normalize_doi(text)
    if direct:
        return direct
    match = _DOI_IN_TEXT.search(text)
    return normalize_doi(match.group(1).rstrip(".,;)")) if match else None


def first_last(name: str) -> str:
    """ "Last, First" -> "First Last"; "Last, Jr, First" -> "First Last Jr"; others as given."""
    parts = [part.strip() for part in name.split(",")]
    if len(parts) == 2 and parts[1]:
        return f"{parts[1]} {parts[0]}"
    if len(parts) >= 3 and parts[2]:
        return f"{parts[2]} {parts[0]} {parts[1]}"
    return name.strip()


def year_month(text: str | None) -> datetime | None:
    """The first day of the year (and month) a date field begins with ("2020/05//")."""
    match = _YEAR_MONTH.search(text or "")
    if match is None:
        return None
    year, month = int(match.group(1)), int(match.group(2) or 1)
    if year < 1:
        return None
    return datetime(year, month if 1 <= month <= 12 else 1, 1, tzinfo=UTC)


def clean(value: object) -> str | None:
    """A string field with its whitespace collapsed; None when absent, blank or not a string."""
    return clean_text(value) if isinstance(value, str) else None


@dataclass(slots=True, frozen=True)
class PastedId:
    """One pasted line that names a paper: by arXiv id, by DOI, or both unknown never."""

    text: str
    location: str
    arxiv_id: str | None
    doi: str | None


def parse_pasted_ids(text: str, *, origin: str) -> Iterator[PastedId | RecordError]:
    """One PastedId per non-blank line ("#" starts a comment line); a line that names no paper
    is a RecordError naming its line."""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        location = f"line {number}"
        found = pasted_id(line, location)
        if found is None:
            shown = line if len(line) <= 80 else line[:77] + "..."
            reason = f"{shown!r} is not an arXiv id, a DOI or a URL naming one"
            yield RecordError(origin, location, reason)
        else:
            yield found


def pasted_id(line: str, location: str) -> PastedId | None:
    """What one pasted line names, or None."""
    doi = doi_in(line)
    arxiv_id = arxiv_id_in(line) or arxiv_id_of_doi(doi)
    if arxiv_id is None and doi is None and line.lower().startswith(("http://", "https://")):
        match = _ID_IN_PATH.search(line)
        arxiv_id = normalize_arxiv_id(match.group(1)) if match else None
    if arxiv_id is None and doi is None:
        return None
    return PastedId(text=line, location=location, arxiv_id=arxiv_id, doi=None if arxiv_id else doi)
