"""`dailypapers serve` and `dailypapers users`: the web server and account administration."""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
import socket

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
from dailypapers.jobs.service import start_job_process, stop_job_process
from dailypapers.store.accounts import (
    AccountSummary,
    get_credentials,
    list_users,
    set_admin,
    set_disabled,
)
from dailypapers.web import listeners
from dailypapers.web.protocol import PROTOCOL

log = logging.getLogger("dailypapers")
# Accounts read per query by `users list`.
USERS_PAGE = 500


def register(group: click.Group) -> None:
    """Add this module's commands to the root command."""
    for command in (serve_command, users_group):
        group.add_command(command)


def listen_url(host: str, port: int) -> str:
    """The address `serve` answers at, for links in emails when public_url is empty: on a
    wildcard address, this machine's name."""
    if host in ("", "0.0.0.0", "::"):
        host = socket.getfqdn()
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass  # a name
    return f"http://{host}:{port}"


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
@click.option(
    "--no-jobs",
    is_flag=True,
    help="Serve pages only; `dailypapers worker` processes run the tasks (several nodes).",
)
@pass_settings
def serve_command(settings: Settings, host: str, port: int, workers: int, no_jobs: bool) -> None:
    """Run the site and its API, and (unless --no-jobs) the periodic tasks: harvests,
    embedding, digests and pruning, in one job process beside the web workers."""
    with store(settings, create=True) as engine:  # migrate once, before the workers start
        sync_keyword_index_logged(engine, settings)
    # Workers are separate processes: they read the same settings from the environment.
    os.environ["DAILYPAPERS_HOME"] = str(settings.home.resolve())
    # Links in the digests the workers send point here unless public_url says otherwise.
    os.environ["DAILYPAPERS_LISTEN_URL"] = listen_url(host, port)
    if settings.smtp_host and not settings.public_url:
        log.warning(
            "links in emails point at %s: set DAILYPAPERS_PUBLIC_URL to the address people "
            "reach the site at",
            os.environ["DAILYPAPERS_LISTEN_URL"],
        )
    # One query is embedded at a time per worker: give each worker its share of the cores
    # instead of letting every worker's torch spread over all of them.
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))
    if settings.database_url:
        os.environ["DAILYPAPERS_DATABASE_URL"] = settings.database_url
    try:
        held = listeners.hold_address(host, port, workers=workers)
    except listeners.ListenError as error:
        fail(str(error), ExitCode.USAGE)
    jobs = None
    if not no_jobs:
        address = settings.model_copy(update={"listen_url": os.environ["DAILYPAPERS_LISTEN_URL"]})
        jobs = start_job_process(address)
    click.echo(f"serving on http://{host}:{port}/ (Ctrl+C stops)", err=True)
    try:
        listeners.run(
            "dailypapers.web.asgi:app_from_environment",
            held,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            # asyncio's own loop, not uvloop: a busy uvloop worker takes new connections from
            # the listening socket a few at a time, and a burst of 200 waited up to 2 s to be
            # accepted (p99 1.4 s against 84 ms with asyncio, the same trivial app; BENCHMARKS.md).
            loop="asyncio",
            http=PROTOCOL,  # httptools, with Nagle's algorithm off (see web/protocol.py)
            log_level="warning",
            # Only the listed proxies may say who the client is (login throttling keys on it).
            proxy_headers=bool(settings.forwarded_allow_ips),
            forwarded_allow_ips=settings.forwarded_allow_ips or None,
        )
    finally:
        if jobs is not None:
            stop_job_process(jobs)


@click.group("users")
def users_group() -> None:
    """Manage accounts."""


@users_group.command("admin")
@click.argument("username")
@click.option("--revoke", is_flag=True, help="Take the admin role away instead.")
@pass_settings
def users_admin(settings: Settings, username: str, revoke: bool) -> None:
    """Give USERNAME the admin role (they can hide papers and comments)."""
    with store(settings, create=False) as engine:
        if not set_admin(engine, username=username, is_admin=not revoke):
            fail(f"no user named {username!r}", ExitCode.NOT_FOUND)
    click.echo(f"{username} is {'no longer' if revoke else 'now'} an admin", err=True)


def _disable(settings: Settings, username: str, *, disabled: bool) -> None:
    with store(settings, create=False) as engine:
        creds = get_credentials(engine, username=username)
        if creds is None:
            fail(f"no user named {username!r}", ExitCode.NOT_FOUND)
        name = creds.user.username
        if creds.disabled == disabled:
            click.echo(f"{name} is already {'disabled' if disabled else 'enabled'}", err=True)
            return
        set_disabled(engine, user_id=creds.user.user_id, disabled=disabled, now=utc_now())
    if disabled:
        click.echo(f"{name} is now disabled: logged out everywhere, cannot log in", err=True)
    else:
        click.echo(f"{name} is enabled again", err=True)


@users_group.command("disable")
@click.argument("username")
@pass_settings
def users_disable(settings: Settings, username: str) -> None:
    """Disable USERNAME's account: every session ends, logins and API tokens stop working."""
    _disable(settings, username, disabled=True)


@users_group.command("enable")
@click.argument("username")
@pass_settings
def users_enable(settings: Settings, username: str) -> None:
    """Let USERNAME's disabled account log in again."""
    _disable(settings, username, disabled=False)


def _account_line(account: AccountSummary) -> str:
    facts = [account.username, account.email or "-", f"created {account.created_at:%Y-%m-%d}"]
    if account.last_login_at:
        facts.append(f"last login {account.last_login_at:%Y-%m-%d}")
    if account.is_admin:
        facts.append("admin")
    if account.disabled_at:
        facts.append(f"disabled {account.disabled_at:%Y-%m-%d}")
    return "  ".join(facts)


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the accounts as JSON.")
@pass_settings
def users_list(settings: Settings, as_json: bool) -> None:
    """List the accounts, oldest first: name, address, dates, admin, disabled."""
    accounts: list[AccountSummary] = []
    with store(settings, create=False) as engine:
        while True:
            page, total = list_users(engine, offset=len(accounts), limit=USERS_PAGE)
            accounts.extend(page)
            if not page or len(accounts) >= total:
                break
    if as_json:
        echo_json([dataclasses.asdict(account) for account in accounts])
        return
    for account in accounts:
        click.echo(_account_line(account))
    click.echo(f"{len(accounts)} accounts", err=True)
