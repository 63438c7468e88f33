"""`dailypapers serve` and `dailypapers users`: the web server and account administration."""

from __future__ import annotations

import os

import click
import uvicorn

from dailypapers.cli import EXIT_NOT_FOUND, _store, _sync_keyword_index
from dailypapers.config import Settings
from dailypapers.store.accounts import set_admin


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes (each loads the search model; one per core is a good start).",
)
@click.pass_obj
def serve_command(settings: Settings, host: str, port: int, workers: int) -> None:
    """Run the site and its API."""
    with _store(settings) as engine:  # migrate once, before the workers start
        _sync_keyword_index(engine, settings)
    # Workers are separate processes: they read the same settings from the environment.
    os.environ["DAILYPAPERS_HOME"] = str(settings.home.resolve())
    # One query is embedded at a time per worker: give each worker its share of the cores
    # instead of letting every worker's torch spread over all of them.
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))
    if settings.database_url:
        os.environ["DAILYPAPERS_DATABASE_URL"] = settings.database_url
    click.echo(f"serving on http://{host}:{port}/ (Ctrl+C stops)", err=True)
    uvicorn.run(
        "dailypapers.web.asgi:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        proxy_headers=False,
    )


@click.group("users")
def users_group() -> None:
    """Manage accounts."""


@users_group.command("admin")
@click.argument("username")
@click.option("--revoke", is_flag=True, help="Take the admin role away instead.")
@click.pass_obj
def users_admin(settings: Settings, username: str, revoke: bool) -> None:
    """Give USERNAME the admin role (they can hide papers and comments)."""
    with _store(settings) as engine:
        if not set_admin(engine, username=username, is_admin=not revoke):
            click.echo(f"error: no user named {username!r}", err=True)
            raise SystemExit(EXIT_NOT_FOUND)
    click.echo(f"{username} is {'no longer' if revoke else 'now'} an admin", err=True)
