"""Bringing a library into a collection on SQLite and PostgreSQL: entries matched by arXiv id,
DOI and title; unknown arXiv ids looked up on a real local server replaying recorded arXiv
answers (or not, offline); the rest stored from the entry; every entry reported; a re-import
adds nothing; the real d2l bibliography end to end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.harvest.http import client_from_settings
from dailypapers.ingest.library import (
    LibraryFormatError,
    LibraryReport,
    Lookup,
    detect_format,
    run_library_import,
)
from dailypapers.models import PaperRecord, SourceName
from dailypapers.store.accounts import create_user
from dailypapers.store.collections import create_collection, list_items
from dailypapers.store.engine import open_store
from dailypapers.store.papers import LocatedRecord, count_papers, get_paper, upsert_papers
from tests.replay_server import ReplayServer, closed_port_url

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
ARXIV_PATH = "/api/query"

LIBRARY_BIB = r"""
@article{vaswani2017,
  title = {Attention Is All You Need},
  author = {Vaswani, Ashish and Shazeer, Noam},
  eprint = {1706.03762}, archivePrefix = {arXiv}, year = {2017}
}
@inproceedings{he2016,
  title = {Deep Residual Learning for Image Recognition},
  author = {He, Kaiming},
  doi = {10.1109/CVPR.2016.90}, year = {2016}
}
@article{lecun2015,
  title = {Deep {L}earning},
  author = {LeCun, Yann and Bengio, Yoshua and Hinton, Geoffrey},
  journal = {Nature}, year = {2015}
}
@misc{unknown2024,
  title = {A Paper This Site Has Never Seen},
  author = {Doe, Jane}, year = {2024}
}
@misc{kiefer2017,
  title = {Heat-bath random walks},
  eprint = {1707.08567}, archivePrefix = {arXiv}
}
@misc{broken,
  author = {Nobody}
}
"""


@pytest.fixture
def store(settings: Settings) -> Iterator[tuple[sa.Engine, int, int]]:
    """A store with three known papers, a reader and an empty collection of theirs."""
    engine = open_store(settings)
    records = [
        PaperRecord(SourceName.ARXIV_API, "Attention Is All You Need", "1706.03762"),
        PaperRecord(
            SourceName.BIBTEX,
            "Deep residual learning for image recognition",
            "10.1109/cvpr.2016.90",
            doi="10.1109/cvpr.2016.90",
        ),
        PaperRecord(SourceName.ARXIV_API, "Deep learning", "1505.00001"),
    ]
    upsert_papers(engine, [LocatedRecord(r, "t", str(n)) for n, r in enumerate(records)], now=NOW)
    user = create_user(engine, username="ada", password_hash="x", email=None, now=NOW)
    collection = create_collection(engine, owner_id=user.user_id, name="Library", now=NOW)
    yield engine, user.user_id, collection.collection_id
    engine.dispose()


def _import(
    engine: sa.Engine, settings: Settings, ids: tuple[int, int], data: str, **options: object
) -> LibraryReport:
    user_id, collection_id = ids
    return run_library_import(
        engine,
        settings,
        data=data.encode(),
        origin=str(options.pop("origin", "library.bib")),
        collection_id=collection_id,
        user_id=user_id,
        now=NOW,
        **options,  # type: ignore[arg-type]
    )


def _collected(engine: sa.Engine, collection_id: int) -> list[str]:
    items, _ = list_items(engine, collection_id=collection_id, limit=1000)
    return [item.paper.paper_id for item in items]


def test_offline_import_matches_stores_and_reports_every_entry(
    settings: Settings, store: tuple[sa.Engine, int, int]
) -> None:
    engine, user_id, collection_id = store
    report = _import(engine, settings, (user_id, collection_id), LIBRARY_BIB)
    assert report.format == "bibtex"
    by_entry = {o.entry: o for o in report.outcomes}
    assert by_entry["Attention Is All You Need"].matched_by == "arxiv"
    assert by_entry["Deep Residual Learning for Image Recognition"].matched_by == "doi"
    lecun = by_entry["Deep Learning"]
    assert (lecun.status, lecun.matched_by, lecun.paper_id) == ("matched", "title", "1505.00001")
    unknown = by_entry["A Paper This Site Has Never Seen"]
    assert unknown.status == "unmatched" and unknown.paper_id is not None
    assert unknown.paper_id.startswith("title:")
    kiefer = by_entry["Heat-bath random walks"]
    assert (kiefer.status, kiefer.paper_id) == ("unmatched", "1707.08567")
    assert kiefer.reason == "not stored here, and looking papers up on arXiv is off"
    (failed,) = [o for o in report.outcomes if o.status == "failed"]
    assert failed.location == "entry broken (line 25)" and failed.reason == "entry has no title"
    assert report.counts == {"matched": 3, "looked_up": 0, "unmatched": 2, "failed": 1}
    assert report.added == 5 and report.already_there == 0
    assert _collected(engine, collection_id) == [
        "1706.03762",
        "10.1109/cvpr.2016.90",
        "1505.00001",
        unknown.paper_id,
        "1707.08567",
    ]
    stored = count_papers(engine)

    again = _import(engine, settings, (user_id, collection_id), LIBRARY_BIB)
    assert again.counts == {"matched": 5, "looked_up": 0, "unmatched": 0, "failed": 1}
    assert (again.added, again.already_there) == (0, 5)
    assert count_papers(engine) == stored
    assert len(_collected(engine, collection_id)) == 5


def test_unknown_arxiv_ids_are_looked_up_on_arxiv(
    settings: Settings, store: tuple[sa.Engine, int, int], shared_data: Path
) -> None:
    engine, user_id, collection_id = store
    online = settings.model_copy(
        update={"arxiv_api_url": "", "arxiv_request_interval_s": 0.0, "http_backoff_s": 0.1}
    )
    pasted = "0808.05394\nhttps://arxiv.org/abs/1707.08567v1\n1706.03762\n10.1000/unknown.1\n"
    with ReplayServer() as replay:
        replay.add_api_recordings(shared_data / "arxiv-api-atom")
        online = online.model_copy(update={"arxiv_api_url": replay.url + ARXIV_PATH})
        client = client_from_settings(online, min_interval_s=0, interactive=True)
        with client:
            report = _import(
                engine,
                online,
                (user_id, collection_id),
                pasted,
                origin="pasted",
                lookup=Lookup(client),
            )
        (asked,) = replay.requests_to(ARXIV_PATH)
    assert asked.params["id_list"] == "0808.05394,1707.08567"
    outcomes = {o.location: o for o in report.outcomes}
    assert report.format == "ids"
    assert outcomes["line 1"].status == "failed"
    assert outcomes["line 1"].reason == "not found on arXiv"
    looked_up = outcomes["line 2"]
    assert (looked_up.status, looked_up.paper_id) == ("looked_up", "1707.08567")
    paper = get_paper(engine, paper_id="1707.08567")
    assert paper is not None and paper.abstract  # arXiv's record, not a title alone
    assert outcomes["line 3"].status == "matched"
    assert outcomes["line 4"].reason == (
        "no stored paper has the DOI 10.1000/unknown.1 (DOIs are not looked up)"
    )
    assert _collected(engine, collection_id) == ["1707.08567", "1706.03762"]


def test_an_unreachable_arxiv_leaves_the_entry_stored_from_the_file(
    settings: Settings, store: tuple[sa.Engine, int, int]
) -> None:
    engine, user_id, collection_id = store
    down = settings.model_copy(
        update={"arxiv_api_url": closed_port_url() + ARXIV_PATH, "http_backoff_s": 0.1}
    )
    with client_from_settings(down, min_interval_s=0, interactive=True) as client:
        report = _import(engine, down, (user_id, collection_id), LIBRARY_BIB, lookup=Lookup(client))
    kiefer = next(o for o in report.outcomes if o.entry == "Heat-bath random walks")
    assert (kiefer.status, kiefer.paper_id) == ("unmatched", "1707.08567")
    assert kiefer.reason == "arXiv could not be reached; try again later"


def test_csl_json_and_ris_land_in_the_same_collection_once(
    settings: Settings, store: tuple[sa.Engine, int, int]
) -> None:
    engine, user_id, collection_id = store
    csl = '[{"title": "Attention is all you need", "number": "arXiv:1706.03762"}]'
    ris = "TY  - JOUR\nTI  - Deep learning\nAU  - LeCun, Yann\nER  -\n"
    first = _import(engine, settings, (user_id, collection_id), csl, origin="zotero.json")
    second = _import(engine, settings, (user_id, collection_id), ris, origin="export")
    assert (first.format, second.format) == ("csl-json", "ris")
    assert first.counts["matched"] == second.counts["matched"] == 1
    assert _collected(engine, collection_id) == ["1706.03762", "1505.00001"]


def test_formats_are_told_by_name_then_content() -> None:
    assert detect_format(b"anything", "refs.BIB") == "bibtex"
    assert detect_format(b"  [{}]", None) == "csl-json"
    assert detect_format(b"% refs\n@Article{x,\n}", "refs") == "bibtex"
    assert detect_format(b"TY  - JOUR\nER  -\n", None) == "ris"
    assert detect_format(b"2106.09685\n", None) == "ids"


def test_pasted_text_that_is_not_utf8_is_refused_with_its_line(
    settings: Settings, store: tuple[sa.Engine, int, int]
) -> None:
    engine, user_id, collection_id = store
    with pytest.raises(LibraryFormatError, match="line 2 is not valid UTF-8"):
        run_library_import(
            engine,
            settings,
            data=b"2106.09685\ncaf\xe9\n",
            origin="ids.txt",
            collection_id=collection_id,
            user_id=user_id,
            now=NOW,
        )


def test_the_d2l_bibliography_end_to_end(
    settings: Settings, store: tuple[sa.Engine, int, int], shared_data: Path
) -> None:
    engine, user_id, collection_id = store
    data = (shared_data / "bibtex" / "d2l.bib").read_text(encoding="utf-8")
    first = _import(engine, settings, (user_id, collection_id), data, origin="d2l.bib")
    assert len(first.outcomes) == 488 and first.counts["failed"] == 0
    assert first.counts["matched"] + first.counts["unmatched"] == 488
    held = len(_collected(engine, collection_id))
    assert first.added == held
    again = _import(engine, settings, (user_id, collection_id), data, origin="d2l.bib")
    assert again.counts == {"matched": 488, "looked_up": 0, "unmatched": 0, "failed": 0}
    assert again.added == 0 and len(_collected(engine, collection_id)) == held
