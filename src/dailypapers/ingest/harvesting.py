"""Harvest services: fetch from upstream, store page by page, checkpoint for resumption."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import orjson
import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.harvest.arxiv import (
    fetch_arxiv_by_ids,
    fetch_arxiv_rss,
    iter_oai_pages,
    oai_set_for_category,
)
from dailypapers.harvest.hf import fetch_hf_daily
from dailypapers.harvest.http import PoliteClient
from dailypapers.ingest.batching import located, store_records
from dailypapers.models import ImportSummary, PaperRecord, RecordError
from dailypapers.store.checkpoints import get_checkpoint, set_checkpoint

log = logging.getLogger(__name__)

# A first harvest with no --from covers the last week, not all of arXiv.
DEFAULT_LOOKBACK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class OaiHarvest:
    """What to harvest over OAI-PMH: categories and an optional date window."""

    categories: Sequence[str]
    from_date: date | None
    until_date: date | None
    # Where each set's resumption state is kept; a backfill keeps its own, so it never moves
    # where the next incremental harvest starts.
    checkpoint: str = "arxiv-oai"


def wanted_category(category: str, wanted: Iterable[str]) -> bool:
    """True if `category` is one of `wanted`, or inside a wanted archive (`cs` holds `cs.LG`)."""
    return any(category == w or category.startswith(w + ".") for w in wanted)


def _keep_wanted(
    items: Iterable[PaperRecord | RecordError], wanted: Sequence[str]
) -> Iterator[PaperRecord | RecordError]:
    for item in items:
        if isinstance(item, RecordError) or any(
            wanted_category(c, wanted) for c in item.categories
        ):
            yield item


def oai_sets(categories: Sequence[str]) -> list[str]:
    """The OAI sets covering `categories`, each once, in a stable order."""
    return sorted({oai_set_for_category(c) for c in categories})


def _checkpoint_key(prefix: str, set_spec: str) -> str:
    return f"{prefix}:{set_spec}"


def harvest_arxiv_oai(
    engine: sa.Engine,
    client: PoliteClient,
    settings: Settings,
    request: OaiHarvest,
    *,
    now: datetime,
) -> ImportSummary:
    """Harvest every set the categories live in, resuming each from its checkpoint.

    The checkpoint holds the window and the next resumption token, saved after each stored
    page; on completion it holds only `done_until`, where the next incremental run starts.
    """
    summary = ImportSummary()
    for set_spec in oai_sets(request.categories):
        summary.add(_harvest_set(engine, client, settings, request, set_spec, now=now))
    return summary


def _harvest_set(
    engine: sa.Engine,
    client: PoliteClient,
    settings: Settings,
    request: OaiHarvest,
    set_spec: str,
    *,
    now: datetime,
) -> ImportSummary:
    key = _checkpoint_key(request.checkpoint, set_spec)
    window, token = _plan_window(get_checkpoint(engine, key=key), request, now.date())
    summary = ImportSummary()
    pages = iter_oai_pages(
        client,
        base_url=settings.arxiv_oai_url,
        set_spec=set_spec,
        from_date=_as_date(window["from"]),
        until_date=_as_date(window["until"]),
        resumption_token=token,
    )
    for page in pages:
        items = located(_keep_wanted(page.records, request.categories), page.url)
        summary.add(store_records(engine, items, now=now, batch_size=settings.import_batch_size))
        log.info(
            "%s: stored a page of %d records (list size %s)",
            set_spec,
            len(page.records),
            page.complete_list_size if page.complete_list_size is not None else "unknown",
        )
        progress = {"window": window, "token": page.resumption_token_after}
        set_checkpoint(engine, key=key, value=orjson.dumps(progress).decode(), now=now)
    done = {"done_until": window["until"]}
    set_checkpoint(engine, key=key, value=orjson.dumps(done).decode(), now=now)
    return summary


def _plan_window(
    checkpoint: str | None, request: OaiHarvest, today: date
) -> tuple[dict[str, str | None], str | None]:
    """The date window to harvest and the resumption token to start from (None: start fresh).

    An unfinished harvest with the same start resumes with its saved window and token; a
    finished one makes `done_until` the next start; a first run looks back DEFAULT_LOOKBACK.
    """
    state = orjson.loads(checkpoint) if checkpoint else {}
    saved_window = state.get("window")
    requested_from = _iso(request.from_date)
    if state.get("token") and saved_window and requested_from in (None, saved_window["from"]):
        return saved_window, state["token"]
    until = request.until_date or today
    start = request.from_date or _as_date(state.get("done_until")) or until - DEFAULT_LOOKBACK
    return {"from": start.isoformat(), "until": until.isoformat()}, None


def _as_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def harvest_arxiv_ids(
    engine: sa.Engine,
    client: PoliteClient,
    settings: Settings,
    ids: Sequence[str],
    *,
    now: datetime,
) -> ImportSummary:
    """Look papers up by id through the arXiv API and store them."""
    records = fetch_arxiv_by_ids(client, base_url=settings.arxiv_api_url, ids=ids)
    return _store_fetched(engine, settings, records, settings.arxiv_api_url, now=now)


def harvest_arxiv_rss(
    engine: sa.Engine,
    client: PoliteClient,
    settings: Settings,
    categories: Sequence[str],
    *,
    now: datetime,
) -> ImportSummary:
    """Store today's arXiv announcements for `categories`."""
    records = fetch_arxiv_rss(client, base_url=settings.arxiv_rss_url, categories=categories)
    return _store_fetched(engine, settings, records, settings.arxiv_rss_url, now=now)


def harvest_hf_daily(
    engine: sa.Engine,
    client: PoliteClient,
    settings: Settings,
    day: date,
    *,
    now: datetime,
) -> ImportSummary:
    """Store Hugging Face's daily papers for `day` (upvotes, submitter, comment count)."""
    records = fetch_hf_daily(client, base_url=settings.hf_url, day=day)
    origin = f"{settings.hf_url}/api/daily_papers?date={day.isoformat()}"
    return _store_fetched(engine, settings, records, origin, now=now)


def _store_fetched(
    engine: sa.Engine,
    settings: Settings,
    records: Iterable[PaperRecord | RecordError],
    origin: str,
    *,
    now: datetime,
) -> ImportSummary:
    items = located(records, origin)
    return store_records(engine, items, now=now, batch_size=settings.import_batch_size)
