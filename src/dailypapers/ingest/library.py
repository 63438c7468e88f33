"""Bring your library: read a reference manager's export (BibTeX, CSL-JSON, RIS) or pasted
arXiv ids / DOIs / URLs into a collection.

Each entry is matched to a stored paper by arXiv id, DOI, then title (store/library.py).
Entries still unknown that carry an arXiv id are looked up on arXiv when a client is given;
the rest are stored from the entry itself through the normal upsert (which deduplicates) and
reported as unmatched. Every entry ends up in the report as matched, looked up, unmatched or
failed (with the reason); the collection holds each paper once, so a re-import adds nothing.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath
from typing import Literal, get_args

import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.harvest.http import HarvestError, PoliteClient
from dailypapers.ingest.harvesting import harvest_arxiv_ids
from dailypapers.models import PaperRecord, RecordError
from dailypapers.sources.bibtex import parse_bibtex
from dailypapers.sources.citations import PastedId, arxiv_id_of_doi, parse_pasted_ids
from dailypapers.sources.csl_json import parse_csl_json
from dailypapers.sources.ris import parse_ris
from dailypapers.store.collections import AddedPapers, add_papers
from dailypapers.store.library import EntryKeys, Match, MatchKind, match_papers
from dailypapers.store.papers import LocatedRecord, upsert_papers

log = logging.getLogger(__name__)

LibraryFormat = Literal["auto", "bibtex", "csl-json", "ris", "ids"]
LIBRARY_FORMATS: tuple[LibraryFormat, ...] = get_args(LibraryFormat)
EntryStatus = Literal["matched", "looked_up", "unmatched", "failed"]
STATUSES: tuple[EntryStatus, ...] = get_args(EntryStatus)
_BATCH = 1_000
_EXTENSIONS: dict[str, LibraryFormat] = {
    ".bib": "bibtex",
    ".bibtex": "bibtex",
    ".json": "csl-json",
    ".ris": "ris",
    ".txt": "ids",
}


class LibraryFormatError(ValueError):
    """The input is none of the formats a library import reads."""


@dataclass(slots=True)
class LibraryEntry:
    """One entry of the input: where it is, how people know it, its keys, what to store."""

    location: str
    label: str
    keys: EntryKeys
    record: PaperRecord | None = None


@dataclass(slots=True)
class EntryOutcome:
    """What became of one entry. `added` is False for a paper the collection held already."""

    location: str
    entry: str
    status: EntryStatus
    paper_id: str | None = None
    matched_by: MatchKind | None = None
    reason: str | None = None
    added: bool = False


@dataclass(slots=True)
class LibraryReport:
    format: LibraryFormat
    outcomes: list[EntryOutcome] = field(default_factory=list)
    added: int = 0
    already_there: int = 0

    def count(self, status: EntryStatus) -> int:
        return sum(outcome.status == status for outcome in self.outcomes)

    @property
    def counts(self) -> dict[str, int]:
        return {status: self.count(status) for status in STATUSES}


@dataclass(frozen=True, slots=True)
class Lookup:
    """How unknown arXiv ids are looked up: the client (None: offline) and at most how many
    ids one import asks for (None: all of them)."""

    client: PoliteClient | None
    max_ids: int | None = None


OFFLINE = Lookup(client=None)


def detect_format(data: bytes, name: str | None = None) -> LibraryFormat:
    """The format a file's name says, else the one its first bytes look like."""
    suffix = PurePath(name).suffix.lower() if name else ""
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    head = data[:65_536].decode("utf-8-sig", errors="replace")
    stripped = head.lstrip()
    if stripped.startswith(("[", "{")):
        return "csl-json"
    if re.search(r"^\s*@\s*\w+\s*[{(]", head, flags=re.MULTILINE):
        return "bibtex"
    if re.search(r"^TY {1,2}- ", head, flags=re.MULTILINE):
        return "ris"
    return "ids"


def read_entries(
    data: bytes, *, origin: str, format: LibraryFormat
) -> tuple[list[LibraryEntry], list[EntryOutcome]]:
    """The entries of an input, and the failures of those that could not be read."""
    if format == "ids":
        return _from_items(parse_pasted_ids(_text(data, origin), origin=origin))
    parsers = {"bibtex": parse_bibtex, "csl-json": parse_csl_json, "ris": parse_ris}
    if format not in parsers:
        raise LibraryFormatError(f"unknown library format {format!r}")
    return _from_items(parsers[format](io.BytesIO(data), origin=origin))


def _text(data: bytes, origin: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise LibraryFormatError(f"{origin}: line {line} is not valid UTF-8") from None


def _from_items(
    items: Iterable[PaperRecord | RecordError | PastedId],
) -> tuple[list[LibraryEntry], list[EntryOutcome]]:
    entries: list[LibraryEntry] = []
    failed: list[EntryOutcome] = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, RecordError):
            failed.append(EntryOutcome(item.location, "", "failed", reason=item.reason))
        elif isinstance(item, PastedId):
            keys = EntryKeys(arxiv_id=item.arxiv_id, doi=item.doi)
            entries.append(LibraryEntry(item.location, item.text, keys))
        else:
            entries.append(_record_entry(number, item))
    return entries, failed


def _record_entry(number: int, record: PaperRecord) -> LibraryEntry:
    paper_id = record.paper_id
    doi = record.doi or (paper_id if paper_id and paper_id.startswith("10.") else None)
    arxiv_id = arxiv_id_of_doi(doi) or (
        paper_id if paper_id and not paper_id.startswith("10.") else None
    )
    if arxiv_id and arxiv_id_of_doi(doi):
        record.paper_id, record.doi, doi = arxiv_id, None, None
    keys = EntryKeys(arxiv_id=arxiv_id, doi=doi, title=record.title)
    return LibraryEntry(f"entry {number}", record.title, keys, record)


def import_library(
    engine: sa.Engine,
    settings: Settings,
    *,
    entries: Sequence[LibraryEntry],
    collection_id: int,
    user_id: int,
    now: datetime,
    lookup: Lookup = OFFLINE,
) -> tuple[list[EntryOutcome], AddedPapers]:
    """Match, look up and store the entries, then add their papers to the collection.

    Returns one outcome per entry, in input order, and what adding did. Raises what
    `add_papers` raises (CollectionFull) after the papers are stored.
    """
    outcomes: list[EntryOutcome | None] = [None] * len(entries)
    matches = match_papers(engine, [entry.keys for entry in entries])
    for index, found in enumerate(matches):
        if found is not None:
            outcomes[index] = _outcome(entries[index], "matched", found)
    reasons = _look_up(engine, settings, entries, outcomes, lookup, now)
    _store_unmatched(engine, entries, outcomes, reasons, now)
    final = [outcome for outcome in outcomes if outcome is not None]
    paper_ids = [o.paper_id for o in final if o.paper_id and o.status != "failed"]
    added = add_papers(
        engine, collection_id=collection_id, paper_ids=paper_ids, added_by=user_id, now=now
    )
    fresh = set(added.added)
    for outcome in final:
        if outcome.paper_id in fresh and outcome.status != "failed":
            outcome.added = True
            fresh.discard(outcome.paper_id)  # a paper listed twice is added once
    return final, added


def _outcome(entry: LibraryEntry, status: EntryStatus, found: Match) -> EntryOutcome:
    return EntryOutcome(entry.location, entry.label, status, found.paper_id, found.by)


def _look_up(
    engine: sa.Engine,
    settings: Settings,
    entries: Sequence[LibraryEntry],
    outcomes: list[EntryOutcome | None],
    lookup: Lookup,
    now: datetime,
) -> dict[int, str]:
    """Fetch unknown arXiv ids; returns why each entry still unknown was not found."""
    pending = [i for i, o in enumerate(outcomes) if o is None and entries[i].keys.arxiv_id]
    wanted = list(dict.fromkeys(entries[i].keys.arxiv_id or "" for i in pending))
    if lookup.client is None:
        return dict.fromkeys(pending, "not stored here, and looking papers up on arXiv is off")
    asked = wanted if lookup.max_ids is None else wanted[: lookup.max_ids]
    reasons: dict[int, str] = {}
    problem = "not found on arXiv"
    if asked:
        try:
            harvest_arxiv_ids(engine, lookup.client, settings, asked, now=now)
        except HarvestError as error:
            log.warning("looking up %d arXiv ids failed: %s", len(asked), error)
            problem = "arXiv could not be reached; try again later"
    found = match_papers(engine, [EntryKeys(arxiv_id=entries[i].keys.arxiv_id) for i in pending])
    asked_set = set(asked)
    for index, match in zip(pending, found, strict=True):
        if match is not None:
            outcomes[index] = _outcome(entries[index], "looked_up", match)
        elif entries[index].keys.arxiv_id in asked_set:
            reasons[index] = problem
        else:
            reasons[index] = f"not looked up: at most {lookup.max_ids} arXiv ids per import here"
    return reasons


def _store_unmatched(
    engine: sa.Engine,
    entries: Sequence[LibraryEntry],
    outcomes: list[EntryOutcome | None],
    reasons: dict[int, str],
    now: datetime,
) -> None:
    """Store the entries nothing matched from what they say; bare ids that cannot be stored
    fail with the reason."""
    storable = [i for i, o in enumerate(outcomes) if o is None and entries[i].record is not None]
    for start in range(0, len(storable), _BATCH):
        batch = storable[start : start + _BATCH]
        items = [
            LocatedRecord(record, "library", str(i))
            for i in batch
            if (record := entries[i].record) is not None
        ]
        summary = upsert_papers(engine, items, now=now)
        refused = {int(failure.location): failure.reason for failure in summary.failures}
        stored = [i for i in batch if i not in refused]
        again = match_papers(engine, [entries[i].keys for i in stored])
        for index, match in zip(stored, again, strict=True):
            if match is None:
                refused[index] = "stored, but not found again (report this)"
                continue
            stored_entry = _outcome(entries[index], "unmatched", match)
            stored_entry.reason = reasons.get(index, "no stored paper matches it")
            outcomes[index] = stored_entry
        for index, reason in refused.items():
            outcomes[index] = EntryOutcome(
                entries[index].location, entries[index].label, "failed", reason=reason
            )
    for index, outcome in enumerate(outcomes):
        if outcome is None:
            entry = entries[index]
            reason = reasons.get(index) or _unknown_reason(entry.keys)
            outcomes[index] = EntryOutcome(entry.location, entry.label, "failed", reason=reason)


def _unknown_reason(keys: EntryKeys) -> str:
    if keys.doi:
        return f"no stored paper has the DOI {keys.doi} (DOIs are not looked up)"
    return "no stored paper matches it"


def run_library_import(
    engine: sa.Engine,
    settings: Settings,
    *,
    data: bytes,
    origin: str,
    collection_id: int,
    user_id: int,
    now: datetime,
    format: LibraryFormat = "auto",
    lookup: Lookup = OFFLINE,
) -> LibraryReport:
    """Read `data` (its format detected from `origin`'s name and its first bytes when "auto")
    into a collection; the report lists every entry. LibraryFormatError for unreadable input."""
    chosen = detect_format(data, origin) if format == "auto" else format
    entries, failed = read_entries(data, origin=origin, format=chosen)
    outcomes, added = import_library(
        engine,
        settings,
        entries=entries,
        collection_id=collection_id,
        user_id=user_id,
        now=now,
        lookup=lookup,
    )
    return LibraryReport(chosen, failed + outcomes, len(added.added), len(added.present))
