"""Pure merging of an incoming record into a stored paper row, and row validation.

A row here is a plain dict keyed by column name with decoded values (lists, datetimes), the
shape `store.papers` reads and writes. Nothing in this module touches the database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from dailypapers.dates import as_utc
from dailypapers.ids import (
    arxiv_abs_url,
    arxiv_pdf_url,
    http_url,
    is_arxiv,
    normalize_doi,
    normalize_title,
)
from dailypapers.limits import MAX_ABSTRACT_CHARS, MAX_AUTHORS, MAX_TITLE_CHARS
from dailypapers.models import PaperRecord, PaperVersion, SourceName
from dailypapers.ranking.hotness import hotness, listed_at
from dailypapers.store.text_links import find_code_url, find_project_url

Row = dict[str, Any]

# Richer, more authoritative sources win for bibliographic fields; a lower-ranked source only
# fills fields that are still empty (a saved web page never overwrites arXiv's abstract).
SOURCE_RANK: dict[SourceName, int] = {
    SourceName.SEED_PAGE: 1,
    SourceName.HF_DAILY: 2,
    SourceName.BIBTEX: 3,
    SourceName.GENERIC: 4,
    SourceName.ARXIV_LISTING: 5,
    SourceName.ARXIV_RSS: 6,
    SourceName.ARXIV_SNAPSHOT: 7,
    SourceName.ARXIV_OAI: 8,
    SourceName.ARXIV_API: 8,
}

BIBLIOGRAPHIC_FIELDS = (
    "title",
    "abstract",
    "published",
    "updated",
    "doi",
    "journal_ref",
    "comments",
    "license",
    "abs_url",
    "pdf_url",
)
# Community fields: whoever reports them last (Hugging Face, in practice) is current.
COMMUNITY_FIELDS = ("code_url", "project_url", "upvotes", "comment_count", "daily_date")

MAX_ID_CHARS = 200
MAX_CATEGORY_CHARS = 40
MAX_CATEGORIES = 50
MAX_TEXT_FIELD_CHARS = 10_000

VISIBLE_COLUMNS = (
    "title",
    "abstract",
    "authors",
    "author_count",
    "categories",
    "versions",
    "published",
    "updated",
    "doi",
    "journal_ref",
    "comments",
    "license",
    "abs_url",
    "pdf_url",
    "code_url",
    "project_url",
    "sources",
    "text_rank",
    "upvotes",
    "comment_count",
    "daily_date",
    "submitted_by",
)


class InvalidRecord(ValueError):
    """A record the store refuses, with the reason as its message."""


def classify_id(paper_id: str) -> str:
    """The kind of a stored id: arxiv, doi, or source (any other id a source gave)."""
    if is_arxiv(paper_id):
        return "arxiv"
    if normalize_doi(paper_id) == paper_id:
        return "doi"
    return "source"


def title_paper_id(title_key: str) -> str:
    """A stable id for a paper known only by its title."""
    return "title:" + hashlib.blake2b(title_key.encode(), digest_size=8).hexdigest()


_OPTIONAL_TEXT = (
    "doi",
    "journal_ref",
    "comments",
    "license",
    "abs_url",
    "pdf_url",
    "code_url",
    "project_url",
    "submitted_by",
)
LINK_FIELDS = ("abs_url", "pdf_url", "code_url", "project_url")


def _strip_nul(value: str) -> str:
    # PostgreSQL rejects NUL in text; dropping it is lossless for any real paper text.
    return value.replace("\x00", "") if "\x00" in value else value


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def validate_record(record: PaperRecord) -> PaperRecord:
    """Check limits, clean NUL characters, keep only http(s) links, make dates UTC.

    Raises InvalidRecord naming the field.
    """
    record.title = _strip_nul(record.title.strip())
    if not record.title:
        raise InvalidRecord("title is empty")
    if not normalize_title(record.title):
        raise InvalidRecord(f"title has no letters or digits: {record.title[:80]!r}")
    _check_len("title", record.title, MAX_TITLE_CHARS)
    if record.paper_id is not None:
        record.paper_id = record.paper_id.strip() or None
        _check_len("id", record.paper_id, MAX_ID_CHARS)
    if record.abstract is not None:
        record.abstract = _strip_nul(record.abstract)
        _check_len("abstract", record.abstract, MAX_ABSTRACT_CHARS)
    for name in _OPTIONAL_TEXT:
        value = getattr(record, name)
        if value is not None:
            _check_len(name, value, MAX_TEXT_FIELD_CHARS)
            if "\x00" in value:
                setattr(record, name, _strip_nul(value))
    for name in LINK_FIELDS:
        # A javascript: or relative link is dropped; the paper itself is still good.
        setattr(record, name, http_url(getattr(record, name)))
    _validate_lists(record)
    record.published, record.updated = _utc(record.published), _utc(record.updated)
    if record.versions:
        record.versions = [PaperVersion(v.number, _utc(v.created)) for v in record.versions]
    return record


def _validate_lists(record: PaperRecord) -> None:
    if len(record.authors) > MAX_AUTHORS:
        raise InvalidRecord(f"authors: {len(record.authors)} names, more than {MAX_AUTHORS}")
    if "\x00" in "".join(record.authors) or not all(record.authors):
        record.authors = [name for name in map(_strip_nul, record.authors) if name.strip()]
    if len(record.categories) > MAX_CATEGORIES:
        raise InvalidRecord(f"categories: {len(record.categories)}, more than {MAX_CATEGORIES}")
    for category in record.categories:
        _check_len("category", category, MAX_CATEGORY_CHARS)


def _check_len(field: str, value: str | None, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise InvalidRecord(f"{field}: {len(value):,} characters, more than {limit:,}")


def _merge_versions(old: list[PaperVersion], new: list[PaperVersion]) -> list[PaperVersion]:
    if not new:
        return old
    by_number = {v.number: v for v in old}
    for version in new:
        known = by_number.get(version.number)
        if known is None or (known.created is None and version.created is not None):
            by_number[version.number] = version
    return [by_number[n] for n in sorted(by_number)]


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _record_wins(row: Row, record: PaperRecord, rank: int) -> bool:
    if rank < row["text_rank"]:
        return False
    incoming = max((v.number for v in record.versions), default=None)
    stored = row["latest_version"]
    # An older arXiv version (a stale dump re-imported) must not roll the text back.
    return incoming is None or stored is None or incoming >= stored


def merge_record(
    row: Row | None, record: PaperRecord, *, paper_id: str, id_kind: str, now: datetime
) -> Row:
    """The row after `record` is applied to `row` (None for a new paper). Does not mutate `row`."""
    rank = SOURCE_RANK[record.source]
    merged: Row = dict(row) if row is not None else _empty_row(paper_id, id_kind, now)
    merged["paper_id"] = paper_id
    merged["id_kind"] = id_kind
    wins = row is None or _record_wins(merged, record, rank)
    for name in BIBLIOGRAPHIC_FIELDS:
        value = getattr(record, name)
        if value is not None and (wins or merged[name] in (None, "")):
            merged[name] = value
    if record.authors and (wins or not merged["authors"]):
        merged["authors"] = list(record.authors)
        merged["author_count"] = len(record.authors)
    elif not merged["authors"] and record.author_count is not None:
        merged["author_count"] = record.author_count
    if record.categories and (wins or not merged["categories"]):
        merged["categories"] = _unique(record.categories)
    for name in COMMUNITY_FIELDS:
        value = getattr(record, name)
        if value is not None:
            merged[name] = value
    if record.submitted_by is not None:
        merged["submitted_by"] = record.submitted_by
    merged["versions"] = _merge_versions(merged["versions"], record.versions)
    merged["latest_version"] = merged["versions"][-1].number if merged["versions"] else None
    merged["sources"] = sorted({*merged["sources"], record.source.value})
    merged["text_rank"] = max(merged["text_rank"], rank) if wins else merged["text_rank"]
    merged["title_key"] = normalize_title(merged["title"])
    merged["primary_category"] = merged["categories"][0] if merged["categories"] else None
    derive_links(merged)
    texts = ("comments", "abstract")
    if row is None or any(row[name] != merged[name] for name in texts):
        derive_text_links(merged)  # the same text gives the same links: not read again
    derive_list_columns(merged)
    return merged


def derive_links(row: Row) -> None:
    """Give an arXiv paper its abstract and PDF links when no source did."""
    if row["id_kind"] == "arxiv":
        row["abs_url"] = row["abs_url"] or arxiv_abs_url(row["paper_id"])
        row["pdf_url"] = row["pdf_url"] or arxiv_pdf_url(row["paper_id"])


def derive_text_links(row: Row) -> None:
    """Fill an empty code or project link from what the paper's comments and abstract say.

    A link a source gives in its own field (Hugging Face's githubRepo, projectPage) is kept;
    one found here gives way when a source later reports one.
    """
    texts = (row["comments"], row["abstract"])
    if row["code_url"] is None:
        row["code_url"] = find_code_url(texts)
    if row["project_url"] is None:
        row["project_url"] = find_project_url(texts)


def derive_list_columns(row: Row) -> None:
    """Set the columns the lists read (list day, score, hotness) from the row's own fields."""
    published = row["published"]
    row["list_date"] = row["daily_date"] or (published.date() if published else None)
    row["score"] = row["upvotes"] + row["local_votes"]
    row["hotness"] = hotness(
        row["score"], listed_at(row["list_date"], published, row["created_at"])
    )


def _empty_row(paper_id: str, id_kind: str, now: datetime) -> Row:
    return {
        "paper_id": paper_id,
        "id_kind": id_kind,
        "title": "",
        "title_key": "",
        "abstract": "",
        "authors": [],
        "author_count": 0,
        "categories": [],
        "primary_category": None,
        "versions": [],
        "latest_version": None,
        "published": None,
        "updated": None,
        "doi": None,
        "journal_ref": None,
        "comments": None,
        "license": None,
        "abs_url": None,
        "pdf_url": None,
        "code_url": None,
        "project_url": None,
        "sources": [],
        "text_rank": 0,
        "upvotes": 0,
        "comment_count": 0,
        "daily_date": None,
        "submitted_by": None,
        "created_at": now,
        "modified_at": now,
        "list_date": None,
        "local_votes": 0,
        "local_comments": 0,
        "score": 0,
        "hotness": 0.0,
        "hidden": False,
    }


def _versions_json(versions: list[PaperVersion]) -> list[list[Any]]:
    return [[v.number, v.created] for v in versions]


def same_content(row: Row, other: Row) -> bool:
    """True if the two rows show a user exactly the same paper under the same id. A paper
    re-keyed from its title to a real id is a change even when the record says nothing new:
    its row must be written under the new id and kind."""
    if (row["paper_id"], row["id_kind"]) != (other["paper_id"], other["id_kind"]):
        return False
    return all(row[name] == other[name] for name in VISIBLE_COLUMNS)


def encode_versions(versions: list[PaperVersion]) -> str:
    """Versions as the JSON text stored in the versions column."""
    return orjson.dumps(_versions_json(versions)).decode()


def decode_versions(text: str, parse_datetime: Callable[[str], datetime]) -> list[PaperVersion]:
    """The inverse of encode_versions."""
    return [
        PaperVersion(number=number, created=parse_datetime(created) if created else None)
        for number, created in orjson.loads(text)
    ]
