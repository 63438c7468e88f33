"""Matching a reader's library to stored papers: by arXiv id, then DOI, then normalised title
(`papers.title_key`, tried for the entry's title with its LaTeX read as text and as written), a
few hundred entries per query, so 5,000 entries take a few queries.

A title match is refused where the entry's own id says it is another paper (a different arXiv
id or DOI), and where it would land on a paper known only by its title while the entry has an
id: storing the entry then re-keys that paper (store/papers.py) instead of leaving it
title-only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa

from dailypapers.ids import normalize_title
from dailypapers.latex import latex_to_text
from dailypapers.store.schema import papers

MatchKind = Literal["arxiv", "doi", "title"]
_CHUNK = 500
# Among stored papers sharing a title, the one with the most authoritative id wins.
_KIND_ORDER = {"arxiv": 0, "doi": 1, "source": 2, "title": 3}


@dataclass(slots=True, frozen=True)
class EntryKeys:
    """What an entry of a library names its paper by."""

    arxiv_id: str | None = None
    doi: str | None = None
    title: str | None = None

    @property
    def title_keys(self) -> tuple[str, ...]:
        """The title's matching keys: of the text its LaTeX shows (`{B}ERT`, `\\emph{...}`:
        the same paper from another source is stored with a clean title), then of the title
        as written (a stored title with the same markup)."""
        if not self.title:
            return ()
        keys = (normalize_title(latex_to_text(self.title)), normalize_title(self.title))
        return tuple(key for key in dict.fromkeys(keys) if key)


@dataclass(slots=True, frozen=True)
class Match:
    """The stored paper an entry names, and which key found it."""

    paper_id: str
    by: MatchKind


@dataclass(slots=True, frozen=True)
class _Stored:
    paper_id: str
    id_kind: str
    doi: str | None


def match_papers(engine: sa.Engine, entries: Sequence[EntryKeys]) -> list[Match | None]:
    """For each entry, the stored paper it names (arXiv id, DOI, then title), or None."""
    arxiv_ids = {e.arxiv_id for e in entries if e.arxiv_id}
    dois = {e.doi for e in entries if e.doi}
    with engine.connect() as conn:
        by_id = _stored_ids(conn, arxiv_ids)
        by_doi = _stored_dois(conn, dois)
        wanted_titles = {
            key
            for e in entries
            if not (e.arxiv_id in by_id or (e.doi is not None and e.doi in by_doi))
            for key in e.title_keys
        }
        by_title = _stored_titles(conn, wanted_titles)
    return [_match(entry, by_id, by_doi, by_title) for entry in entries]


def _match(
    entry: EntryKeys,
    by_id: set[str],
    by_doi: dict[str, str],
    by_title: dict[str, list[_Stored]],
) -> Match | None:
    if entry.arxiv_id and entry.arxiv_id in by_id:
        return Match(entry.arxiv_id, "arxiv")
    if entry.doi and entry.doi in by_doi:
        return Match(by_doi[entry.doi], "doi")
    for key in entry.title_keys:
        for stored in by_title.get(key, ()):
            if _title_match_allowed(entry, stored):
                return Match(stored.paper_id, "title")
    return None


def _title_match_allowed(entry: EntryKeys, stored: _Stored) -> bool:
    if stored.id_kind == "title":
        return not (entry.arxiv_id or entry.doi)
    if entry.arxiv_id and stored.id_kind == "arxiv" and stored.paper_id != entry.arxiv_id:
        return False
    return not (entry.doi and stored.doi and stored.doi != entry.doi)


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


def _stored_ids(conn: sa.Connection, paper_ids: set[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(paper_ids):
        query = sa.select(papers.c.paper_id).where(papers.c.paper_id.in_(chunk))
        found.update(conn.execute(query).scalars())
    return found


def _stored_dois(conn: sa.Connection, dois: set[str]) -> dict[str, str]:
    """DOI -> the paper stored under it, or carrying it (an arXiv paper's published version)."""
    found: dict[str, str] = {}
    for chunk in _chunks(dois):
        for query in (
            sa.select(papers.c.paper_id.label("doi"), papers.c.paper_id).where(
                papers.c.paper_id.in_(chunk)
            ),
            sa.select(papers.c.doi, papers.c.paper_id)
            .where(papers.c.doi.in_(chunk))
            .order_by(papers.c.paper_id),
        ):
            for doi, paper_id in conn.execute(query):
                found.setdefault(doi, paper_id)
    return found


def _stored_titles(conn: sa.Connection, keys: set[str]) -> dict[str, list[_Stored]]:
    found: dict[str, list[_Stored]] = {}
    for chunk in _chunks(keys):
        query = sa.select(
            papers.c.title_key, papers.c.paper_id, papers.c.id_kind, papers.c.doi
        ).where(papers.c.title_key.in_(chunk))
        for key, paper_id, id_kind, doi in conn.execute(query):
            found.setdefault(key, []).append(_Stored(paper_id, id_kind, doi))
    for candidates in found.values():
        candidates.sort(key=lambda s: (_KIND_ORDER.get(s.id_kind, 9), s.paper_id))
    return found
