"""The papers a restriction (filters, phrases, exclusions) admits are kept while the keyword
index is unchanged: kept, they admit exactly what a search of the index admits; a large
restriction is kept only once asked for twice; a reload forgets them all, so papers indexed
since are admitted."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import pytest
import sqlalchemy as sa

from dailypapers.config import Settings, load_settings
from dailypapers.index.build import sync_keyword_index
from dailypapers.index.keys import paper_key
from dailypapers.search import keyword
from dailypapers.search.keyword import KeywordSearcher
from dailypapers.search.query import parse_query
from dailypapers.search.service import Searcher
from dailypapers.store.engine import open_store
from tests.search.conftest import import_files

RESTRICTIONS = ["graphs cat:cs.LG", 'graphs "colouring of"', "graphs -colouring", "x cat:math.CO"]


def _import(settings: Settings, engine: sa.Engine, numbers: range) -> list[int]:
    """Papers on graphs, odd numbers in cs.LG and even ones in math.CO; their keys."""
    path = settings.home / f"papers-{numbers.start}.jsonl"
    lines = []
    for n in numbers:
        learning = n % 2 == 1
        record = {
            "id": f"2601.{n:05d}",
            "title": f"Paper {n}: {'learning on' if learning else 'colouring of'} graphs",
            "abstract": "We study graphs.",
            "categories": ["cs.LG"] if learning else ["math.CO"],
            "published": "2025-01-02",
        }
        lines.append(orjson.dumps(record))
    path.write_bytes(b"\n".join(lines) + b"\n")
    import_files(engine, [path], "generic")
    sync_keyword_index(engine, settings)
    return [paper_key(f"2601.{n:05d}") for n in numbers]


@dataclass
class Site:
    settings: Settings
    engine: sa.Engine
    keys: list[int]  # of the 40 papers stored at first
    search: Searcher


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[Site]:
    settings = load_settings({}, home=tmp_path / "home")
    engine = open_store(settings)
    keys = _import(settings, engine, range(1, 41))
    yield Site(settings, engine, keys, Searcher(engine, settings))
    engine.dispose()


@pytest.mark.parametrize("text", RESTRICTIONS)
def test_kept_papers_admit_what_the_index_admits(
    site: Site, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    stored = site.keys
    absent = [paper_key(f"absent-{n}") for n in range(50)]
    keys = np.asarray(stored + absent, np.uint64)
    searcher = site.search.keyword_index()
    query = parse_query(text)
    # A searcher that never keeps anything: it asks the index.
    expected = KeywordSearcher(searcher.directory).admitted(query, keys)
    admitted = int(expected.sum())
    assert 0 < admitted < len(stored) and not expected[len(stored) :].any()
    restriction = keyword._restriction(query)

    # More papers than the cap: not listed, and kept from the second time on (listing them
    # costs two checks here).
    monkeypatch.setattr(keyword, "ADMITTED_KEPT_MAX", admitted)
    monkeypatch.setattr(keyword, "PAPERS_PER_CHECK", admitted // 2)
    assert searcher.matching_keys(query, cap=admitted - 1) == (None, admitted)
    assert restriction not in searcher._admitted
    assert searcher.admitted(query, keys).tolist() == expected.tolist()
    assert searcher.matching_keys(query, cap=admitted - 1) == (None, admitted)
    assert restriction in searcher._admitted
    assert searcher.admitted(query, keys).tolist() == expected.tolist()

    # Within the cap, the kept keys themselves, ascending.
    listed, total = searcher.matching_keys(query, cap=admitted)
    assert total == admitted and listed is not None
    assert listed.tolist() == sorted(keys[expected].tolist())


def test_more_than_the_kept_maximum_is_never_kept(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    searcher = site.search.keyword_index()
    query = parse_query("graphs cat:cs.LG")
    monkeypatch.setattr(keyword, "ADMITTED_KEPT_MAX", 19)
    for _ in range(3):
        assert searcher.matching_keys(query, cap=10) == (None, 20)
    assert not searcher._admitted


@pytest.mark.parametrize(("papers_per_check", "asks"), [(7, 3), (10, 2), (20, 1), (100, 1)])
def test_listed_once_asked_for_as_many_times_as_listing_costs_checks(
    site: Site, monkeypatch: pytest.MonkeyPatch, papers_per_check: int, asks: int
) -> None:
    """20 papers cost 3 checks to list at 7 papers a check: kept at the third ask."""
    searcher = site.search.keyword_index()
    query = parse_query("graphs cat:cs.LG")
    monkeypatch.setattr(keyword, "PAPERS_PER_CHECK", papers_per_check)
    for _ in range(asks):
        assert keyword._restriction(query) not in searcher._admitted
        assert searcher.matching_keys(query, cap=10) == (None, 20)
    assert keyword._restriction(query) in searcher._admitted
    assert not searcher._asked


def test_the_least_recently_used_restriction_is_dropped_first(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    searcher = site.search.keyword_index()
    first, second, third = (parse_query(text) for text in RESTRICTIONS[:3])
    monkeypatch.setattr(keyword, "ADMITTED_KEYS_KEPT", 45)  # 20 + 20 + 20 keys asked for
    for query in (first, second):
        assert searcher.matching_keys(query, cap=100)[1] == 20
    searcher.matching_keys(first, cap=100)  # used again: the second is now the oldest
    searcher.matching_keys(third, cap=100)
    kept = list(searcher._admitted)
    assert kept == [keyword._restriction(first), keyword._restriction(third)]
    assert searcher.kept_keys == 40


def test_a_reload_forgets_what_was_kept(site: Site) -> None:
    query = parse_query("graphs cat:cs.LG")
    listed, total = site.search.keyword_index().matching_keys(query, cap=100)
    assert total == 20 and listed is not None
    added = _import(site.settings, site.engine, range(41, 45))  # two more in cs.LG: 41 and 43
    searcher = site.search.keyword_index()  # sees the commit and reloads
    listed, total = searcher.matching_keys(query, cap=100)
    assert total == 22 and listed is not None
    assert {added[0], added[2]} <= set(listed.tolist())
    mask = searcher.admitted(query, np.asarray(added, np.uint64))
    assert mask.tolist() == [True, False, True, False]
