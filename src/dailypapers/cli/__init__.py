"""The `dailypapers` command: the root group and its global options.

Each module named in COMMAND_MODULES adds its commands through `register(group)`; adding a
command group is one line there. Commands are thin: parse options, take the Settings, call a
service function. Exit codes: `ExitCode` in cli/common.py, documented in docs/cli.md.
"""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path

import click

from dailypapers.cli.common import CliState, EchoHandler

COMMAND_MODULES = (
    "dailypapers.cli.papers",  # import, papers, db, harvest
    "dailypapers.cli.search",  # search, similar, index
    "dailypapers.cli.web",  # serve, users
    "dailypapers.cli.digest",  # digest
    "dailypapers.cli.jobs",  # worker, jobs
    "dailypapers.cli.library",  # library import
)


@click.group()
@click.option("--home", type=click.Path(path_type=Path), help="Data directory (DAILYPAPERS_HOME).")
@click.option("--database-url", help="Database URL (DAILYPAPERS_DATABASE_URL).")
@click.option("-q", "--quiet", is_flag=True, help="Only print warnings and errors.")
@click.version_option(package_name="dailypapers")
@click.pass_context
def main(ctx: click.Context, home: Path | None, database_url: str | None, quiet: bool) -> None:
    """Self-hostable research-paper discovery."""
    package_log = logging.getLogger("dailypapers")
    package_log.handlers[:] = [EchoHandler()]
    package_log.setLevel(logging.WARNING if quiet else logging.INFO)
    ctx.obj = CliState(os.environ, home=home, database_url=database_url)


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(main)
