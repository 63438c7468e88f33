"""`dailypapers import`, `papers show|list`, `db migrate|status`, `harvest arxiv|hf`: what goes
into the store and what is in it."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from tqdm import tqdm

from dailypapers.cli.common import (
    ExitCode,
    database_failed,
    echo_json,
    fail,
    pass_settings,
    store,
    sync_keyword_index_logged,
    utc_now,
)
from dailypapers.config import Settings
from dailypapers.harvest.http import HarvestError, PoliteClient, client_from_settings
from dailypapers.index.follower import following_keyword_index
from dailypapers.ingest.files import (
    PARALLEL_MIN_BYTES,
    ImportOptions,
    expand_paths,
    import_paths,
)
from dailypapers.ingest.harvesting import (
    OaiHarvest,
    harvest_arxiv_ids,
    harvest_arxiv_oai,
    harvest_arxiv_rss,
    harvest_hf_daily,
)
from dailypapers.models import ImportSummary, Paper
from dailypapers.sources.registry import FORMATS
from dailypapers.store.migrate import schema_status, upgrade_database
from dailypapers.store.papers import count_papers, get_paper, list_papers

log = logging.getLogger("dailypapers")


def register(group: click.Group) -> None:
    """Add this module's commands to the root command."""
    for command in (import_command, papers, db, harvest):
        group.add_command(command)


def _report(summary: ImportSummary, *, as_json: bool) -> None:
    if as_json:
        counts = {k: getattr(summary, k) for k in ("imported", "updated", "unchanged", "failed")}
        failures = [asdict(failure) for failure in summary.failures]
        echo_json({**counts, "failures": failures})
    else:
        for failure in summary.failures[:50]:
            click.echo(f"error: {failure}", err=True)
        if len(summary.failures) > 50:
            click.echo(f"... and {len(summary.failures) - 50} more errors", err=True)
        click.echo(
            f"imported {summary.imported}, updated {summary.updated}, "
            f"unchanged {summary.unchanged}, failed {summary.failed}",
            err=True,
        )


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "format_name",
    type=click.Choice(["auto", *FORMATS]),
    default="auto",
    show_default=True,
    help="Input format; auto detects it from each file's content.",
)
@click.option(
    "--reference-date",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Date that yearless dates in saved pages are resolved against (default: today).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_settings
def import_command(
    settings: Settings,
    paths: tuple[Path, ...],
    format_name: str,
    reference_date: datetime | None,
    as_json: bool,
) -> None:
    """Import files or folders of dumps (gzip and bzip2 are read transparently)."""
    now = utc_now()
    files = list(expand_paths(paths))
    total = sum(p.stat().st_size for p in files if p.is_file())
    parallel = total >= PARALLEL_MIN_BYTES
    options = ImportOptions(
        format=format_name,
        reference_date=reference_date.date() if reference_date else now.date(),
        batch_size=settings.import_batch_size,
        parallel=parallel,
    )
    with (
        store(settings, create=True) as engine,
        following_keyword_index(settings, parallel=parallel) as keyword,
        tqdm(
            total=total, unit="B", unit_scale=True, disable=None, desc="import", file=sys.stderr
        ) as bar,
    ):
        summary = import_paths(engine, files, options, now=now, on_read=bar.update)
        indexed = keyword.finish(engine)
    if indexed is None:
        log.info("the index builder running now will index them")
    elif indexed:
        log.info("keyword index: %d papers indexed", indexed)
    _report(summary, as_json=as_json)
    sys.exit(ExitCode.PARTIAL if summary.failed else ExitCode.OK)


@click.group()
def papers() -> None:
    """Look at stored papers."""


def _paper_json(paper: Paper) -> dict[str, Any]:
    data = asdict(paper)
    data["versions"] = [asdict(v) for v in paper.versions]
    return data


@papers.command("show")
@click.argument("paper_id")
@click.option("--json", "as_json", is_flag=True, help="Print the paper as JSON.")
@pass_settings
def papers_show(settings: Settings, paper_id: str, as_json: bool) -> None:
    """Show one paper by id (any arXiv id form or URL is accepted)."""
    with store(settings, create=False) as engine:
        paper = get_paper(engine, paper_id=paper_id)
    if paper is None:
        fail(f"no paper with id {paper_id!r}", ExitCode.NOT_FOUND)
    if as_json:
        echo_json(_paper_json(paper))
        return
    click.echo(_format_paper(paper, full=True))


def _format_paper(paper: Paper, *, full: bool) -> str:
    when = paper.published.date().isoformat() if paper.published else "undated"
    authors = ", ".join(paper.authors[:6]) or f"{paper.author_count} authors"
    if len(paper.authors) > 6:
        authors += f" and {len(paper.authors) - 6} more"
    lines = [f"{paper.paper_id}  {paper.title}", f"    {authors} · {when}"]
    if paper.categories:
        lines[-1] += " · " + " ".join(paper.categories)
    if paper.upvotes:
        lines[-1] += f" · ▲ {paper.upvotes}"
    if full:
        lines += ["", paper.abstract, ""]
        for label, value in (("abs", paper.abs_url), ("pdf", paper.pdf_url)):
            if value:
                lines.append(f"{label}: {value}")
        lines.append("sources: " + ", ".join(paper.sources))
    return "\n".join(lines)


@papers.command("list")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--date", "daily_date", type=click.DateTime(["%Y-%m-%d"]), help="Daily list date.")
@click.option("--json", "as_json", is_flag=True, help="Print the papers as JSON.")
@pass_settings
def papers_list(settings: Settings, limit: int, daily_date: datetime | None, as_json: bool) -> None:
    """List stored papers, newest first."""
    with store(settings, create=False) as engine:
        day = daily_date.date() if daily_date else None
        found = list_papers(engine, limit=limit, daily_date=day)
        total = count_papers(engine)
    if as_json:
        echo_json([_paper_json(p) for p in found])
        return
    for paper in found:
        click.echo(_format_paper(paper, full=False))
    click.echo(f"{total} papers stored", err=True)


@click.group()
def db() -> None:
    """Database schema."""


@db.command("migrate")
@pass_settings
def db_migrate(settings: Settings) -> None:
    """Bring the schema up to date."""
    with store(settings, create=True, migrate=False) as engine:
        try:
            upgrade_database(engine)
            current, _head = schema_status(engine)
        except sa.exc.SQLAlchemyError as error:
            database_failed(settings, error, "migration failed")
    click.echo(f"schema at revision {current}")


@db.command("status")
@pass_settings
def db_status(settings: Settings) -> None:
    """Show the schema revision of the database and of this code."""
    with store(settings, create=False, migrate=False) as engine:
        current, head = schema_status(engine)
    state = "up to date" if current == head else "needs `dailypapers db migrate`"
    click.echo(f"database {current or 'empty'}, code {head}: {state}")


def _parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not a date like 2025-05-01") from error


@click.group()
def harvest() -> None:
    """Fetch papers from arXiv or Hugging Face and store them."""


HarvestJob = Callable[[sa.Engine, PoliteClient, datetime], ImportSummary]


def _split_list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _run_harvest(
    settings: Settings,
    job: HarvestJob,
    *,
    upstream: str,
    interval_s: float,
    interactive: bool,
    as_json: bool,
) -> None:
    now = utc_now()
    with (
        store(settings, create=True) as engine,
        client_from_settings(
            settings, min_interval_s=interval_s, interactive=interactive
        ) as client,
    ):
        try:
            summary = job(engine, client, now)
        except HarvestError as error:
            sync_keyword_index_logged(engine, settings)
            if error.unreachable:
                log.info("%s", error)  # the details; people are told what to do
                fail(f"{upstream} could not be reached; try again later", ExitCode.UPSTREAM)
            click.echo(f"error: {error}", err=True)
            click.echo("pages stored before the failure are kept; rerun to resume", err=True)
            sys.exit(ExitCode.UPSTREAM)
        sync_keyword_index_logged(engine, settings)
    _report(summary, as_json=as_json)
    sys.exit(ExitCode.PARTIAL if summary.failed else ExitCode.OK)


@harvest.command("arxiv")
@click.option("--categories", help="Comma-separated arXiv categories, e.g. cs.LG,cs.CL.")
@click.option(
    "--from",
    "from_date",
    callback=lambda _c, _p, v: _parse_day(v) if v else None,
    help="OAI-PMH: records created or changed on or after YYYY-MM-DD (default: the last run).",
)
@click.option(
    "--until",
    "until_date",
    callback=lambda _c, _p, v: _parse_day(v) if v else None,
    help="OAI-PMH: records created or changed on or before YYYY-MM-DD.",
)
@click.option("--ids", help="Comma-separated arXiv ids to look up through the arXiv API.")
@click.option("--rss", is_flag=True, help="Read today's announcement feed for --categories.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_settings
def harvest_arxiv(
    settings: Settings,
    categories: str | None,
    from_date: date | None,
    until_date: date | None,
    ids: str | None,
    rss: bool,
    as_json: bool,
) -> None:
    """Harvest arXiv: OAI-PMH by category (default), API by id (--ids), or RSS (--rss)."""
    wanted, id_list = _split_list(categories), _split_list(ids)
    if not wanted and not id_list:
        raise click.UsageError("give --categories (for OAI-PMH or --rss) or --ids")
    job: HarvestJob
    if id_list:
        job = lambda engine, client, now: harvest_arxiv_ids(  # noqa: E731
            engine, client, settings, id_list, now=now
        )
    elif rss:
        job = lambda engine, client, now: harvest_arxiv_rss(  # noqa: E731
            engine, client, settings, wanted, now=now
        )
    else:
        request = OaiHarvest(categories=wanted, from_date=from_date, until_date=until_date)
        job = lambda engine, client, now: harvest_arxiv_oai(  # noqa: E731
            engine, client, settings, request, now=now
        )
    _run_harvest(
        settings,
        job,
        upstream="arXiv",
        interval_s=settings.arxiv_request_interval_s,
        # Looking ids up is what a person does at the prompt: a few seconds, not six retries.
        interactive=bool(id_list),
        as_json=as_json,
    )


@harvest.command("hf")
@click.option(
    "--date",
    "day",
    required=True,
    callback=lambda _c, _p, v: _parse_day(v),
    help="Daily list date, YYYY-MM-DD.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_settings
def harvest_hf(settings: Settings, day: date, as_json: bool) -> None:
    """Harvest Hugging Face's daily papers for one date."""
    job: HarvestJob = lambda engine, client, now: harvest_hf_daily(  # noqa: E731
        engine, client, settings, day, now=now
    )
    _run_harvest(
        settings,
        job,
        upstream="Hugging Face",
        interval_s=settings.hf_request_interval_s,
        interactive=False,
        as_json=as_json,
    )
