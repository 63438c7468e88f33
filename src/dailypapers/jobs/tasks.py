"""The task functions behind the registry: harvests, embedding, digests, pruning.

Each is idempotent (a harvest run twice stores nothing new; a paper embedded twice keeps one
vector; a digest is built and sent once per period by its outbox key), so running a period
again after a runner died is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta

import orjson
import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.harvest.http import HarvestError, PoliteClient, client_from_settings
from dailypapers.index.embed import embed_backlog, queue_for_model
from dailypapers.ingest.harvesting import (
    OaiHarvest,
    harvest_arxiv_oai,
    harvest_arxiv_rss,
    harvest_hf_daily,
)
from dailypapers.jobs.registry import TaskContext, TaskResult, UpstreamUnavailable, split_list
from dailypapers.models import ImportSummary
from dailypapers.store.checkpoints import get_checkpoint, set_checkpoint
from dailypapers.store.comments import recount_comments
from dailypapers.store.maintenance import prune_expired
from dailypapers.store.notifications import create_follow_notifications
from dailypapers.store.trends import refresh_trends as refresh_trend_tables
from dailypapers.store.vectors import count_backlog

logger = logging.getLogger(__name__)

HF_BACKFILL = "backfill:hf"
ARXIV_BACKFILL = "backfill:arxiv"


def _summary_line(summary: ImportSummary, what: str) -> str:
    return (
        f"{what}: {summary.imported} new, {summary.updated} updated, "
        f"{summary.unchanged} unchanged, {summary.failed} failed"
    )


def _counts(summary: ImportSummary) -> dict[str, int]:
    return {
        "imported": summary.imported,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "failed": summary.failed,
    }


def _upstream(name: str, error: HarvestError) -> UpstreamUnavailable:
    return UpstreamUnavailable(f"{name} could not be used: {error.reason} ({error.url})")


# -- backfill progress (shown by `jobs status`) ------------------------------------------------


def backfill_state(engine: sa.Engine, key: str) -> dict[str, object] | None:
    """The stored progress of one backfill, or None before it started."""
    value = get_checkpoint(engine, key=key)
    return orjson.loads(value) if value else None


def _backfill_days(
    ctx: TaskContext, key: str, first: date, harvest_day: Callable[[date], ImportSummary]
) -> ImportSummary:
    """Harvest `harvest_backfill_days` days from `first` back, newest first, once per site;
    progress is saved after each day, so a stop or a failure resumes where it was."""
    days = ctx.settings.harvest_backfill_days
    state = backfill_state(ctx.engine, key) or {"days": days, "done": 0}
    summary = ImportSummary()
    if state.get("complete") or days == 0:
        return summary
    done = int(str(state.get("done", 0)))
    start = date.fromisoformat(str(state.get("first", first.isoformat())))
    state["first"] = start.isoformat()
    while done < days:
        if ctx.should_stop():
            break
        day = start - timedelta(days=done)
        summary.add(harvest_day(day))
        done += 1
        state.update(done=done, last=day.isoformat(), complete=done >= days)
        set_checkpoint(ctx.engine, key=key, value=orjson.dumps(state).decode(), now=ctx.now())
    return summary


# -- harvests ------------------------------------------------------------------------------------


def _hf_client(settings: Settings) -> PoliteClient:
    return client_from_settings(settings, min_interval_s=settings.hf_request_interval_s)


def _arxiv_client(settings: Settings) -> PoliteClient:
    return client_from_settings(settings, min_interval_s=settings.arxiv_request_interval_s)


def harvest_hf(ctx: TaskContext) -> TaskResult:
    """Today's and yesterday's Hugging Face lists (they grow through the day), then, on a new
    site, the backfill days before them."""
    engine, settings = ctx.engine, ctx.settings
    today = ctx.now().date()
    summary = ImportSummary()
    with _hf_client(settings) as client:

        def harvest_day(day: date) -> ImportSummary:
            return harvest_hf_daily(engine, client, settings, day, now=ctx.now())

        try:
            for day in (today, today - timedelta(days=1)):
                summary.add(harvest_day(day))
            summary.add(_backfill_days(ctx, HF_BACKFILL, today - timedelta(days=2), harvest_day))
        except HarvestError as error:
            raise _upstream("Hugging Face", error) from None
    return TaskResult(_summary_line(summary, "Hugging Face"), _counts(summary))


def harvest_arxiv_announcements(ctx: TaskContext) -> TaskResult:
    """arXiv's announcement feed for the harvest categories (new, cross-listed, replaced)."""
    categories = split_list(ctx.settings.harvest_categories)
    with _arxiv_client(ctx.settings) as client:
        try:
            summary = harvest_arxiv_rss(ctx.engine, client, ctx.settings, categories, now=ctx.now())
        except HarvestError as error:
            raise _upstream("arXiv", error) from None
    return TaskResult(_summary_line(summary, "arXiv announcements"), _counts(summary))


def harvest_arxiv_changes(ctx: TaskContext) -> TaskResult:
    """On a new site, the backfill days (one OAI-PMH window per day, newest first); then the
    records created or changed since the last run (resumable, page by page)."""
    engine, settings = ctx.engine, ctx.settings
    categories = split_list(settings.harvest_categories)
    today = ctx.now().date()
    summary = ImportSummary()
    with _arxiv_client(settings) as client:

        def harvest_day(day: date) -> ImportSummary:
            window = OaiHarvest(categories, day, day, checkpoint="arxiv-oai-backfill")
            return harvest_arxiv_oai(engine, client, settings, window, now=ctx.now())

        try:
            summary.add(_backfill_days(ctx, ARXIV_BACKFILL, today, harvest_day))
            if not ctx.should_stop():
                request = OaiHarvest(categories, None, None)
                summary.add(harvest_arxiv_oai(engine, client, settings, request, now=ctx.now()))
        except HarvestError as error:
            raise _upstream("arXiv OAI-PMH", error) from None
    return TaskResult(_summary_line(summary, "arXiv OAI-PMH"), _counts(summary))


# -- embedding, digests, pruning ---------------------------------------------------------------


def embed_papers(ctx: TaskContext) -> TaskResult:
    """Embed what waits in the backlog; a new model first queues every paper it lacks."""
    engine, settings = ctx.engine, ctx.settings
    model = ctx.resources.embedder()
    queue_for_model(engine, model=model.name, now=ctx.now())
    report = embed_backlog(
        engine,
        model,
        batch_size=settings.embedding_batch_papers,
        lease_s=settings.embedding_lease_s,
        should_stop=ctx.should_stop,
        clock=ctx.now,
    )
    waiting = count_backlog(engine)
    detail = {
        "embedded": report.embedded,
        "unchanged": report.unchanged,
        "model_seconds": round(report.seconds, 3),
        "waiting": waiting,
    }
    rate = f" ({report.papers_per_s:.1f}/s)" if report.papers_per_s else ""
    return TaskResult(f"embedded {report.embedded} papers{rate}, {waiting} waiting", detail)


def send_digests(ctx: TaskContext) -> TaskResult:
    """From digest_hour_utc on, build the day's digests; always send what is due."""
    from dailypapers.digest.service import deliver_due, run_digests

    engine, settings = ctx.engine, ctx.settings
    now = ctx.now()
    if now.hour >= settings.digest_hour_utc:
        report = run_digests(engine, settings, searcher=ctx.resources.searcher(), clock=ctx.now)
        built, delivery = report.build.built, report.delivery
    else:
        built, delivery = 0, deliver_due(engine, settings, clock=ctx.now)
    detail = {"built": built}
    if delivery is not None:
        detail |= {"sent": delivery.sent, "retried": delivery.retried, "failed": delivery.failed}
        if delivery.unreachable:
            reason = delivery.errors[0] if delivery.errors else "the SMTP server"
            raise UpstreamUnavailable(f"mail could not be sent: {reason}")
    sent = detail.get("sent", 0)
    return TaskResult(f"digests: {built} built, {sent} messages sent", detail)


def prune(ctx: TaskContext) -> TaskResult:
    """Delete what has expired or passed retention_days (see docs/operations.md)."""
    settings = ctx.settings
    now = ctx.now()
    keep = timedelta(days=settings.retention_days)
    deleted = prune_expired(
        ctx.engine,
        now=now,
        failures_before=now - timedelta(seconds=settings.login_window_s),
        history_before=now - keep,
        listed_before=(now - keep).date(),
    )
    total = sum(deleted.values())
    # Counts kept before hidden comments stopped counting heal here, once, on every site.
    recounted = recount_comments(ctx.engine)
    return TaskResult(f"pruned {total} rows", {**deleted, "comment_counts_fixed": recounted})


def refresh_trends(ctx: TaskContext) -> TaskResult:
    """Recount papers per list day and primary category and find the rising topics."""
    done = refresh_trend_tables(ctx.engine, now=ctx.now())
    detail: dict[str, float] = {"papers": done.papers, "rows": done.rows}
    detail |= {"rising_terms": done.rising_terms, "seconds": round(done.seconds, 3)}
    newest = done.last_day.isoformat() if done.last_day else "none"
    return TaskResult(
        f"trends: {done.papers} papers counted to {newest}, {done.rising_terms} rising terms",
        detail,
    )


# New papers are looked for this far back on every run: a run that was missed (a runner down
# for a day) still finds them, and a re-run stores nothing twice (one row per reader and paper).
NOTIFY_LOOKBACK_DAYS = 3


def notify_followers(ctx: TaskContext) -> TaskResult:
    """Notify readers of new papers by followed authors and papers added to followed public
    collections in the last NOTIFY_LOOKBACK_DAYS days (idempotent)."""
    now = ctx.now()
    since = now - timedelta(days=NOTIFY_LOOKBACK_DAYS)
    done = create_follow_notifications(ctx.engine, since_day=since.date(), since=since, now=now)
    detail = {"author_papers": done.author_papers, "collection_papers": done.collection_papers}
    return TaskResult(
        f"notifications: {done.author_papers} new papers by followed authors, "
        f"{done.collection_papers} added to followed collections",
        detail,
    )
