"""`dailypapers library import`: bring a reader's library (BibTeX, CSL-JSON, RIS, or a list of
arXiv ids / DOIs / URLs) into one of their collections."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import click

from dailypapers.cli.common import (
    ExitCode,
    echo_json,
    fail,
    pass_settings,
    store,
    sync_keyword_index_logged,
    utc_now,
)
from dailypapers.config import Settings
from dailypapers.harvest.http import client_from_settings
from dailypapers.ingest.library import (
    LIBRARY_FORMATS,
    OFFLINE,
    LibraryFormatError,
    LibraryReport,
    Lookup,
    run_library_import,
)
from dailypapers.store.accounts import get_user_by_name
from dailypapers.store.collections import CollectionError, ensure_collection

DEFAULT_COLLECTION = "Library"
SHOWN_PROBLEMS = 50


def register(group: click.Group) -> None:
    """Add this module's commands to the root command."""
    group.add_command(library)


@click.group()
def library() -> None:
    """Bring a library into a collection."""


@library.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True))
@click.option("--user", "username", required=True, help="The account whose collection it is.")
@click.option(
    "--collection",
    "collection_name",
    default=DEFAULT_COLLECTION,
    show_default=True,
    help="The user's collection to fill (made, private, if it does not exist).",
)
@click.option(
    "--format",
    "format_name",
    type=click.Choice(LIBRARY_FORMATS),
    default="auto",
    show_default=True,
    help="auto tells it from the file's name and first bytes.",
)
@click.option("--offline", is_flag=True, help="Do not look unknown arXiv ids up on arXiv.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_settings
def import_library_command(
    settings: Settings,
    file: Path,
    username: str,
    collection_name: str,
    format_name: str,
    offline: bool,
    as_json: bool,
) -> None:
    """Match a library's entries to stored papers and put them in a collection."""
    data = _read(file)
    now = utc_now()
    with store(settings, create=True) as engine:
        user = get_user_by_name(engine, username=username)
        if user is None:
            fail(f"no user named {username!r}", ExitCode.NOT_FOUND)
        try:
            collection = ensure_collection(
                engine, owner_id=user.user_id, name=collection_name, now=now
            )
        except CollectionError as error:
            fail(f"--collection: {error}", ExitCode.USAGE)
        client = (
            None
            if offline
            else client_from_settings(settings, min_interval_s=settings.arxiv_request_interval_s)
        )
        try:
            report = run_library_import(
                engine,
                settings,
                data=data,
                origin=str(file),
                collection_id=collection.collection_id,
                user_id=user.user_id,
                now=now,
                format=format_name,  # type: ignore[arg-type]
                lookup=OFFLINE if client is None else Lookup(client),
            )
        except (LibraryFormatError, CollectionError) as error:
            fail(str(error), ExitCode.USAGE)
        finally:
            if client is not None:
                client.close()
        if report.count("looked_up") or report.count("unmatched"):
            sync_keyword_index_logged(engine, settings)
    _report(report, collection.name, as_json=as_json)
    sys.exit(ExitCode.PARTIAL if report.count("failed") else ExitCode.OK)


def _read(file: Path) -> bytes:
    if str(file) == "-":
        return sys.stdin.buffer.read()
    try:
        return file.read_bytes()
    except OSError as error:
        fail(f"cannot read {file}: {error.strerror or error}", ExitCode.USAGE)


def _report(report: LibraryReport, collection: str, *, as_json: bool) -> None:
    if as_json:
        echo_json(
            {
                "collection": collection,
                "format": report.format,
                **report.counts,
                "added": report.added,
                "already_there": report.already_there,
                "entries": [asdict(outcome) for outcome in report.outcomes],
            }
        )
        return
    problems = [o for o in report.outcomes if o.status in ("unmatched", "failed")]
    for outcome in problems[:SHOWN_PROBLEMS]:
        entry = f" {outcome.entry!r}" if outcome.entry else ""
        click.echo(f"{outcome.status}: {outcome.location}{entry}: {outcome.reason}", err=True)
    if len(problems) > SHOWN_PROBLEMS:
        click.echo(f"... and {len(problems) - SHOWN_PROBLEMS} more (see --json)", err=True)
    counts = report.counts
    click.echo(
        f"{collection}: matched {counts['matched']}, looked up {counts['looked_up']}, "
        f"unmatched {counts['unmatched']}, failed {counts['failed']}; "
        f"added {report.added}, already there {report.already_there}",
        err=True,
    )
