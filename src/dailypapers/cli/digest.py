"""`dailypapers digest run|status`: email digests for cron.

Exit codes of `digest run`: 0 every due message was sent (or, with --dry-run, built);
1 some messages failed for good or wait for a retry (listed); 2 usage error, no SMTP server
or no public URL set; 3 database failure; 4 the SMTP server could not be reached or refused
the login (nothing was sent).
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from datetime import datetime
from typing import Any

import click

from dailypapers.cli.common import ExitCode, echo_json, fail, pass_settings, store
from dailypapers.config import Settings
from dailypapers.digest.service import DeliveryReport, MailNotConfigured, RunReport, run_digests
from dailypapers.store.outbox import count_outbox, list_problem_messages


def register(group: click.Group) -> None:
    """Add this module's commands to the root command."""
    group.add_command(digest_group)


@click.group("digest")
def digest_group() -> None:
    """Build and send email digests."""


def _run_json(report: RunReport) -> dict[str, Any]:
    build = report.build
    data: dict[str, Any] = {
        "built": build.built,
        "empty": build.empty,
        "already_built": build.already_built,
        "not_due": build.not_due,
    }
    if report.delivery is not None:
        data["delivery"] = asdict(report.delivery)
    if report.notes:
        data["notes"] = report.notes
    if build.previews:
        data["previews"] = [
            {"to": m.recipient, "subject": m.subject, "papers": list(m.paper_ids)}
            for m in build.previews
        ]
    return data


def _exit_code(delivery: DeliveryReport | None) -> ExitCode:
    if delivery is None:
        return ExitCode.OK
    if delivery.unreachable and not delivery.sent:
        return ExitCode.UPSTREAM
    return ExitCode.PARTIAL if delivery.failed or delivery.waiting else ExitCode.OK


@digest_group.command("run")
@click.option("--dry-run", is_flag=True, help="Build and show the digests; store and send none.")
@click.option("--to", "address", help="Only the subscriber with this address.")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Build the period of this day instead of today (UTC).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
@pass_settings
def digest_run(
    settings: Settings, dry_run: bool, address: str | None, day: datetime | None, as_json: bool
) -> None:
    """Build today's digests into the outbox and send every due message (safe to rerun)."""
    with store(settings, create=False) as engine:
        try:
            report = run_digests(
                engine,
                settings,
                day=day.date() if day else None,
                only_email=address,
                dry_run=dry_run,
            )
        except MailNotConfigured as error:
            fail(f"{error}; use --dry-run to build without sending", ExitCode.USAGE)
    if as_json:
        echo_json(_run_json(report))
    else:
        _print_run(report)
    sys.exit(_exit_code(report.delivery))


def _print_run(report: RunReport) -> None:
    build = report.build
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    for message in build.previews:
        click.echo(f"--- to {message.recipient}: {message.subject}")
        click.echo(message.body_text)
    click.echo(
        f"digests: {build.built} built, {build.empty} empty (not sent), "
        f"{build.already_built} built before, {build.not_due} not due today"
        + (f", {len(build.previews)} previewed" if build.previews else ""),
        err=True,
    )
    if not (build.built or build.empty or build.already_built or build.not_due or build.previews):
        click.echo("no confirmed subscribers yet: people subscribe at /subscribe", err=True)
    delivery = report.delivery
    if delivery is not None:
        for error in delivery.errors[:20]:
            click.echo(f"error: {error}", err=True)
        click.echo(
            f"messages: {delivery.sent} sent, {delivery.retried} to retry, "
            f"{delivery.failed} failed, {delivery.cancelled} cancelled",
            err=True,
        )
        if delivery.waiting:
            click.echo(
                f"{delivery.waiting} waiting for a retry (`dailypapers digest status` lists them)",
                err=True,
            )


@digest_group.command("status")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def digest_status(settings: Settings, limit: int, as_json: bool) -> None:
    """Messages in the outbox by state, and the latest failed and retrying ones."""
    with store(settings, create=False) as engine:
        counts = count_outbox(engine)
        problems = list_problem_messages(engine, limit=limit)
    if as_json:
        echo_json({"counts": counts, "messages": [asdict(p) for p in problems]})
        return
    click.echo("  ".join(f"{status} {count}" for status, count in counts.items()))
    for entry in problems:
        error = f"  {entry.last_error}" if entry.last_error else ""
        click.echo(
            f"{entry.status:<8} {entry.attempts:>2}x {entry.recipient}  {entry.message_key}{error}"
        )
