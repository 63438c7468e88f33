"""`dailypapers search`, `similar` and `index build|watch|status`: thin wrappers over the search
and index services."""

from __future__ import annotations

import signal
import sys
import threading
from datetime import datetime
from typing import Any, cast

import click
from tqdm import tqdm

from dailypapers.cli.common import ExitCode, echo_json, fail, pass_settings, store
from dailypapers.config import Settings
from dailypapers.index.build import (
    BuildReport,
    IndexBusy,
    Progress,
    build_indexes,
    index_status,
    watch_indexes,
)
from dailypapers.models import SearchHit, SearchMode, SearchResults
from dailypapers.search.query import Filters, QueryError, parse_date_bound
from dailypapers.search.service import (
    MAX_LIMIT,
    SEARCH_MODES,
    PaperNotFound,
    Searcher,
    SearchUnavailable,
)


def register(group: click.Group) -> None:
    """Add this module's commands to the root command."""
    for command in (search_command, similar_command, index_group):
        group.add_command(command)


def _hit_json(hit: SearchHit) -> dict[str, Any]:
    paper = hit.paper
    return {
        "id": paper.paper_id,
        "title": paper.title,
        "score": round(hit.score, 6),
        "keyword_score": None if hit.keyword_score is None else round(hit.keyword_score, 6),
        "semantic_score": None if hit.semantic_score is None else round(hit.semantic_score, 6),
        "authors": paper.authors[:10],
        "categories": paper.categories,
        "published": paper.published.isoformat() if paper.published else None,
    }


def _print_hits(hits: list[SearchHit]) -> None:
    for rank, hit in enumerate(hits, start=1):
        paper = hit.paper
        day = paper.published.date().isoformat() if paper.published else "          "
        click.echo(f"{rank:>3}. {paper.paper_id:<24} {day}  {hit.score:7.3f}  {paper.title}")


def _print_results(results: SearchResults) -> None:
    for notice in results.notices:
        click.echo(f"note: {notice}", err=True)
    if not results.hits:
        click.echo("no papers match", err=True)
        return
    _print_hits(results.hits)
    if results.total is not None:
        noun = "paper matches" if results.total == 1 else "papers match"
        click.echo(f"{results.total} {noun}", err=True)


def _date_option(name: str, *, end: bool) -> Any:
    def convert(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Any:
        if not value:
            return None
        try:
            return parse_date_bound(value, end=end, name=name)
        except QueryError as error:
            raise click.BadParameter(str(error)) from None

    return convert


@click.command("search")
@click.argument("query")
@click.option("--mode", type=click.Choice(SEARCH_MODES), default="hybrid", show_default=True)
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=10, show_default=True)
@click.option("--offset", type=click.IntRange(0, 1000), default=0, show_default=True)
@click.option("--author", "authors", multiple=True, help="Only papers by this author (repeatable).")
@click.option("--category", "categories", multiple=True, help="Only papers in this category.")
@click.option(
    "--from",
    "published_from",
    callback=_date_option("--from", end=False),
    help="Published on or after YYYY[-MM[-DD]].",
)
@click.option(
    "--until",
    "published_until",
    callback=_date_option("--until", end=True),
    help="Published on or before YYYY[-MM[-DD]].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the hits as a JSON list.")
@pass_settings
def search_command(
    settings: Settings,
    query: str,
    mode: str,
    limit: int,
    offset: int,
    authors: tuple[str, ...],
    categories: tuple[str, ...],
    published_from: datetime | None,
    published_until: datetime | None,
    as_json: bool,
) -> None:
    """Search papers: words, "phrases", -exclusions, author:NAME, cat:CATEGORY, from:/to: dates."""
    filters = Filters(authors, categories, published_from, published_until)
    with store(settings, create=False) as engine:
        searcher = Searcher(engine, settings)
        try:
            searcher.refresh()
            results = searcher.search(
                query,
                mode=cast(SearchMode, mode),
                limit=limit,
                offset=offset,
                filters=filters,
            )
        except QueryError as error:
            fail(f"bad query: {error}", ExitCode.USAGE)
        except SearchUnavailable as error:
            fail(str(error), ExitCode.UNAVAILABLE)
    if as_json:
        echo_json([_hit_json(hit) for hit in results.hits])
    else:
        _print_results(results)


@click.command("similar")
@click.argument("paper_id")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the hits as a JSON list.")
@pass_settings
def similar_command(settings: Settings, paper_id: str, limit: int, as_json: bool) -> None:
    """Papers similar to one paper (any arXiv id form or URL is accepted)."""
    with store(settings, create=False) as engine:
        searcher = Searcher(engine, settings)
        try:
            searcher.refresh()
            hits = searcher.similar(paper_id, limit=limit)
        except PaperNotFound as error:
            fail(str(error), ExitCode.NOT_FOUND)
        except SearchUnavailable as error:
            fail(str(error), ExitCode.UNAVAILABLE)
    if as_json:
        echo_json([_hit_json(hit) for hit in hits])
    else:
        _print_hits(hits)


class _BarProgress(Progress):
    """Draws each build stage as a tqdm bar on standard error (only on a terminal)."""

    def __init__(self) -> None:
        self._bars: dict[str, tqdm[Any]] = {}

    def stage(self, name: str, total: int | None) -> None:
        self.done(name)
        self._bars[name] = tqdm(
            total=total,
            desc=name,
            unit="paper",
            disable=None,
            file=sys.stderr,
            position=len(self._bars),
        )

    def advance(self, name: str, units: int) -> None:
        bar = self._bars.get(name)
        if bar is not None:
            bar.update(units)

    def done(self, name: str) -> None:
        bar = self._bars.pop(name, None)
        if bar is not None:
            bar.close()

    def close(self) -> None:
        for name in list(self._bars):
            self.done(name)


@click.group("index")
def index_group() -> None:
    """Build the search indexes and see how far they have got."""


@index_group.command("build")
@click.option("--rebuild", is_flag=True, help="Build new indexes from scratch, then swap them in.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_settings
def index_build(settings: Settings, rebuild: bool, as_json: bool) -> None:
    """Index every stored paper by keywords, then embed it; returns when both are complete.

    Interrupting is safe: the next run goes on where this one stopped.
    """
    progress = _BarProgress()
    with store(settings, create=True) as engine:
        try:
            try:
                report = build_indexes(
                    engine, settings, rebuild=rebuild, progress=progress, wait=False
                )
            except IndexBusy as error:
                click.echo(f"note: {error}; waiting for it to finish", err=True)
                report = build_indexes(engine, settings, rebuild=rebuild, progress=progress)
        finally:
            progress.close()
    if as_json:
        echo_json(
            {
                "keyword_indexed": report.keyword_indexed,
                "embedded": report.embedded,
                "vectors": report.vectors,
                "complete": report.complete,
            }
        )
    else:
        click.echo(
            f"keyword index: {report.keyword_indexed} papers indexed; "
            f"embeddings: {report.embedded} new, {report.vectors} in all",
            err=True,
        )
    sys.exit(ExitCode.OK)


@index_group.command("watch")
@click.option(
    "--interval-s",
    type=click.FloatRange(0.1, 86_400),
    default=60.0,
    show_default=True,
    help="Pause between passes.",
)
@pass_settings
def index_watch(settings: Settings, interval_s: float) -> None:
    """Keep the indexes up to date in the background until stopped (SIGTERM or Ctrl-C).

    Each pass indexes and embeds what changed since the last one; a stop ends the pass at the
    next chunk, keeping everything done so far.
    """
    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stop.set())

    def report(done: BuildReport) -> None:
        if done.keyword_indexed or done.embedded:
            click.echo(
                f"keyword index: {done.keyword_indexed} papers; embedded {done.embedded}, "
                f"{done.vectors} in all",
                err=True,
            )

    with store(settings, create=True) as engine:
        watch_indexes(
            engine, settings, interval_s=interval_s, should_stop=stop.is_set, on_report=report
        )


@index_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@pass_settings
def index_status_command(settings: Settings, as_json: bool) -> None:
    """How many papers each index holds, and how many still wait to be embedded."""
    with store(settings, create=False) as engine:
        status = index_status(engine, settings)
    data = {
        "papers": status.papers,
        "keyword_documents": status.keyword_documents,
        "keyword_segments": status.keyword_segments,
        "keyword_deleted": status.keyword_deleted,
        "keyword_synced_to": status.keyword_synced_to,
        "model": status.model,
        "embedded": status.embedded,
        "vectors": status.vectors,
        "vectors_in_graph": status.vectors_in_graph,
        "embedded_to": status.embedded_to,
        "changed_since_embedding": status.changed_since_embedding,
        "rebuilding": status.rebuilding,
        "disk_bytes": status.disk_bytes,
    }
    if as_json:
        echo_json(data)
        return
    share = 100.0 * min(status.embedded, status.papers) / status.papers if status.papers else 100.0
    click.echo(f"papers in the store:   {status.papers}")
    click.echo(
        f"keyword index:         {status.keyword_documents} papers "
        f"({status.keyword_segments} segments, {status.keyword_deleted} deleted documents)"
    )
    click.echo(f"embedded ({status.model}): {status.embedded} ({share:.1f} %)")
    click.echo(f"this node's vectors:   {status.vectors}, {status.vectors_in_graph} in the graph")
    click.echo(f"waiting for a vector:  {status.changed_since_embedding}")
    if status.rebuilding:
        click.echo("a rebuild of the vector index is under way")
    click.echo(f"index size on disk:    {status.disk_bytes / 1e6:.1f} MB")
