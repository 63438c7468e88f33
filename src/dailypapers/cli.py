"""The `dailypapers` command: thin wrappers that build Settings and call service functions.

Exit codes: 0 success; 1 some records or files failed (the rest were stored); 2 usage error;
3 the database could not be opened or migrated; 4 an upstream service failed during a harvest;
5 the requested paper does not exist.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click
import orjson
import sqlalchemy as sa
from tqdm import tqdm

from dailypapers.config import Settings, load_settings
from dailypapers.harvest.http import HarvestError, PoliteClient, client_from_settings
from dailypapers.index.build import sync_keyword_index
from dailypapers.ingest.files import ImportOptions, expand_paths, import_paths
from dailypapers.ingest.harvesting import (
    OaiHarvest,
    harvest_arxiv_ids,
    harvest_arxiv_oai,
    harvest_arxiv_rss,
    harvest_hf_daily,
)
from dailypapers.models import ImportSummary, Paper
from dailypapers.sources.registry import FORMATS
from dailypapers.store.engine import create_db_engine, open_store
from dailypapers.store.migrate import schema_status, upgrade_database
from dailypapers.store.papers import count_papers, get_paper, list_papers

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_DATABASE = 3
EXIT_UPSTREAM = 4
EXIT_NOT_FOUND = 5


def _now() -> datetime:
    return datetime.now(UTC)


def _echo_json(value: Any) -> None:
    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))


class _EchoHandler(logging.Handler):
    """Log messages to whatever standard error is when they are emitted."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(record.getMessage(), err=True)


@click.group()
@click.option("--home", type=click.Path(path_type=Path), help="Data directory (DAILYPAPERS_HOME).")
@click.option("--database-url", help="Database URL (DAILYPAPERS_DATABASE_URL).")
@click.option("-q", "--quiet", is_flag=True, help="Only print warnings and errors.")
@click.version_option(package_name="dailypapers")
@click.pass_context
def main(ctx: click.Context, home: Path | None, database_url: str | None, quiet: bool) -> None:
    """Self-hostable research-paper discovery."""
    package_log = logging.getLogger("dailypapers")
    package_log.handlers[:] = [_EchoHandler()]
    package_log.setLevel(logging.WARNING if quiet else logging.INFO)
    ctx.obj = load_settings(os.environ, home=home, database_url=database_url)


@contextmanager
def _store(settings: Settings) -> Iterator[sa.Engine]:
    try:
        engine = open_store(settings)
    except sa.exc.SQLAlchemyError as error:
        click.echo(f"error: cannot open the database: {error}", err=True)
        sys.exit(EXIT_DATABASE)
    try:
        yield engine
    except sa.exc.SQLAlchemyError as error:
        # Batches committed before the failure stay stored; rerunning the command is safe.
        click.echo(f"error: database failure: {error}", err=True)
        sys.exit(EXIT_DATABASE)
    finally:
        engine.dispose()


def _report(summary: ImportSummary, *, as_json: bool) -> None:
    if as_json:
        counts = {k: getattr(summary, k) for k in ("imported", "updated", "unchanged", "failed")}
        failures = [asdict(failure) for failure in summary.failures]
        _echo_json({**counts, "failures": failures})
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


def _sync_keyword_index(engine: sa.Engine, settings: Settings) -> None:
    """Make what was just stored keyword-searchable at once (embedding is `index build`'s)."""
    indexed = sync_keyword_index(engine, settings)
    if indexed is None:
        logging.getLogger("dailypapers").info("the index builder running now will index them")
    elif indexed:
        logging.getLogger("dailypapers").info("keyword index: %d papers indexed", indexed)


@main.command("import")
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
@click.pass_obj
def import_command(
    settings: Settings,
    paths: tuple[Path, ...],
    format_name: str,
    reference_date: datetime | None,
    as_json: bool,
) -> None:
    """Import files or folders of dumps (gzip and bzip2 are read transparently)."""
    now = _now()
    options = ImportOptions(
        format=format_name,
        reference_date=reference_date.date() if reference_date else now.date(),
        batch_size=settings.import_batch_size,
    )
    files = list(expand_paths(paths))
    total = sum(p.stat().st_size for p in files if p.is_file())
    with (
        _store(settings) as engine,
        tqdm(
            total=total, unit="B", unit_scale=True, disable=None, desc="import", file=sys.stderr
        ) as bar,
    ):
        summary = import_paths(engine, files, options, now=now, on_read=bar.update)
        _sync_keyword_index(engine, settings)
    _report(summary, as_json=as_json)
    sys.exit(EXIT_PARTIAL if summary.failed else EXIT_OK)


@main.group()
def papers() -> None:
    """Look at stored papers."""


def _paper_json(paper: Paper) -> dict[str, Any]:
    data = asdict(paper)
    data["versions"] = [asdict(v) for v in paper.versions]
    return data


@papers.command("show")
@click.argument("paper_id")
@click.option("--json", "as_json", is_flag=True, help="Print the paper as JSON.")
@click.pass_obj
def papers_show(settings: Settings, paper_id: str, as_json: bool) -> None:
    """Show one paper by id (any arXiv id form or URL is accepted)."""
    with _store(settings) as engine:
        paper = get_paper(engine, paper_id=paper_id)
    if paper is None:
        click.echo(f"error: no paper with id {paper_id!r}", err=True)
        sys.exit(EXIT_NOT_FOUND)
    if as_json:
        _echo_json(_paper_json(paper))
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
@click.pass_obj
def papers_list(settings: Settings, limit: int, daily_date: datetime | None, as_json: bool) -> None:
    """List stored papers, newest first."""
    with _store(settings) as engine:
        day = daily_date.date() if daily_date else None
        found = list_papers(engine, limit=limit, daily_date=day)
        total = count_papers(engine)
    if as_json:
        _echo_json([_paper_json(p) for p in found])
        return
    for paper in found:
        click.echo(_format_paper(paper, full=False))
    click.echo(f"{total} papers stored", err=True)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("migrate")
@click.pass_obj
def db_migrate(settings: Settings) -> None:
    """Bring the schema up to date."""
    engine = create_db_engine(settings)
    try:
        upgrade_database(engine)
        current, _head = schema_status(engine)
    except sa.exc.SQLAlchemyError as error:
        click.echo(f"error: migration failed: {error}", err=True)
        sys.exit(EXIT_DATABASE)
    finally:
        engine.dispose()
    click.echo(f"schema at revision {current}")


@db.command("status")
@click.pass_obj
def db_status(settings: Settings) -> None:
    """Show the schema revision of the database and of this code."""
    engine = create_db_engine(settings)
    try:
        current, head = schema_status(engine)
    finally:
        engine.dispose()
    state = "up to date" if current == head else "needs `dailypapers db migrate`"
    click.echo(f"database {current or 'empty'}, code {head}: {state}")


def _parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not a date like 2025-05-01") from error


@main.group()
def harvest() -> None:
    """Fetch papers from arXiv or Hugging Face and store them."""


HarvestJob = Callable[[sa.Engine, PoliteClient, datetime], ImportSummary]


def _split_list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _run_harvest(settings: Settings, interval_s: float, job: HarvestJob, as_json: bool) -> None:
    now = _now()
    with (
        _store(settings) as engine,
        client_from_settings(settings, min_interval_s=interval_s) as client,
    ):
        try:
            summary = job(engine, client, now)
        except HarvestError as error:
            click.echo(f"error: {error}", err=True)
            click.echo("pages stored before the failure are kept; rerun to resume", err=True)
            _sync_keyword_index(engine, settings)
            sys.exit(EXIT_UPSTREAM)
        _sync_keyword_index(engine, settings)
    _report(summary, as_json=as_json)
    sys.exit(EXIT_PARTIAL if summary.failed else EXIT_OK)


@harvest.command("arxiv")
@click.option("--categories", help="Comma-separated arXiv categories, e.g. cs.LG,cs.CL.")
@click.option("--from", "from_date", callback=lambda _c, _p, v: _parse_day(v) if v else None)
@click.option("--until", "until_date", callback=lambda _c, _p, v: _parse_day(v) if v else None)
@click.option("--ids", help="Comma-separated arXiv ids to look up through the arXiv API.")
@click.option("--rss", is_flag=True, help="Read today's announcement feed for --categories.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
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
    _run_harvest(settings, settings.arxiv_request_interval_s, job, as_json)


@harvest.command("hf")
@click.option(
    "--date",
    "day",
    required=True,
    callback=lambda _c, _p, v: _parse_day(v),
    help="Daily list date, YYYY-MM-DD.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def harvest_hf(settings: Settings, day: date, as_json: bool) -> None:
    """Harvest Hugging Face's daily papers for one date."""
    job: HarvestJob = lambda engine, client, now: harvest_hf_daily(  # noqa: E731
        engine, client, settings, day, now=now
    )
    _run_harvest(settings, settings.hf_request_interval_s, job, as_json)


# Search and index commands live in their own module; registered last to avoid an import cycle.
from dailypapers.cli_search import index_group, search_command, similar_command  # noqa: E402

main.add_command(search_command)
main.add_command(similar_command)
main.add_command(index_group)

from dailypapers.cli_web import serve_command, users_group  # noqa: E402

main.add_command(serve_command)
main.add_command(users_group)

from dailypapers.cli_digest import digest_group  # noqa: E402

main.add_command(digest_group)
