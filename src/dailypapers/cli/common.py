"""What every command module shares: exit codes, settings, the store, output helpers.

Command modules import this module, never the root command (cli/__init__.py), which adds their
commands to itself.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import Any, Concatenate, NoReturn, ParamSpec, TypeVar

import click
import orjson
import sqlalchemy as sa

from dailypapers.config import Settings, SettingsError, load_settings
from dailypapers.index.build import sync_keyword_index
from dailypapers.store.engine import (
    DatabaseMissing,
    create_db_engine,
    database_error_reason,
    database_location,
)
from dailypapers.store.migrate import upgrade_database

log = logging.getLogger("dailypapers")
P = ParamSpec("P")
R = TypeVar("R")


class ExitCode(IntEnum):
    """Every exit status of `dailypapers`; docs/cli.md lists each with its `meaning`."""

    OK = 0
    PARTIAL = 1
    USAGE = 2
    DATABASE = 3
    UPSTREAM = 4
    NOT_FOUND = 5
    UNAVAILABLE = 6

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS = {
    ExitCode.OK: "success",
    ExitCode.PARTIAL: (
        "some records, files or messages failed, or messages wait for a retry; everything "
        "else was stored or sent (the failures are listed)"
    ),
    ExitCode.USAGE: (
        "usage error: an unknown option, a bad value, a malformed search query, or a bad "
        "setting (each named with what is allowed)"
    ),
    ExitCode.DATABASE: (
        "the database could not be opened or migrated, or a command that only reads found "
        "no database"
    ),
    ExitCode.UPSTREAM: (
        "an upstream service (arXiv, Hugging Face, the SMTP server) could not be reached or "
        "failed; what was stored before is kept and the next run resumes"
    ),
    ExitCode.NOT_FOUND: "the requested paper or user does not exist",
    ExitCode.UNAVAILABLE: "the search index a command needs is not built yet",
}


def fail(message: str, code: ExitCode) -> NoReturn:
    """Print `error: message` on standard error and exit with `code`."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def utc_now() -> datetime:
    return datetime.now(UTC)


def echo_json(value: Any) -> None:
    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))


class EchoHandler(logging.Handler):
    """Log messages to whatever standard error is when they are emitted."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(record.getMessage(), err=True)


class CliState:
    """The root command's context object: Settings are built when a command first asks, so
    `--help` works whatever the environment holds."""

    def __init__(self, environ: Mapping[str, str], **overrides: object) -> None:
        self._environ = dict(environ)
        self._overrides = overrides
        self._settings: Settings | None = None

    def settings(self) -> Settings:
        """The Settings; a bad value exits with code 2, one line per bad variable."""
        if self._settings is None:
            try:
                self._settings = load_settings(self._environ, **self._overrides)
            except SettingsError as error:
                for problem in error.problems:
                    click.echo(f"error: {problem}", err=True)
                sys.exit(ExitCode.USAGE)
        return self._settings


def pass_settings(command: Callable[Concatenate[Settings, P], R]) -> Callable[P, R]:
    """Like `click.pass_obj`, handing the command the Settings built from the root's state."""

    @functools.wraps(command)
    def with_settings(*args: P.args, **kwargs: P.kwargs) -> R:
        state = click.get_current_context().find_object(CliState)
        if state is None:
            raise RuntimeError("a dailypapers command ran outside the root command")
        return command(state.settings(), *args, **kwargs)

    return with_settings


def _missing_database(path: Path) -> NoReturn:
    fail(
        f"no database at {path} (run `dailypapers import ...` or `dailypapers db migrate` "
        "first, or point --home at an existing one)",
        ExitCode.DATABASE,
    )


@contextmanager
def store(settings: Settings, *, create: bool, migrate: bool = True) -> Iterator[sa.Engine]:
    """An Engine for the command; database errors exit with code 3.

    Commands that only read pass `create=False`: a SQLite HOME without a database then exits
    with code 3 instead of leaving an empty database behind. `migrate` brings the schema up to
    date first (when auto_migrate is on).
    """
    try:
        engine = create_db_engine(settings, create=create)
    except DatabaseMissing as missing:
        _missing_database(missing.path)
    except sa.exc.SQLAlchemyError as error:  # a malformed URL
        fail(f"cannot open the database: {error}", ExitCode.DATABASE)
    try:
        if migrate and settings.auto_migrate:
            upgrade_database(engine)
    except sa.exc.SQLAlchemyError as error:
        engine.dispose()
        database_failed(settings, error, "cannot open the database")
    try:
        yield engine
    except sa.exc.SQLAlchemyError as error:
        # Batches committed before the failure stay stored; rerunning the command is safe.
        database_failed(settings, error, "database failure")
    finally:
        engine.dispose()


def database_failed(settings: Settings, error: sa.exc.SQLAlchemyError, what: str) -> NoReturn:
    """Exit 3 with one line: a connection that failed names the database it tried to reach."""
    connecting = isinstance(error, sa.exc.DBAPIError) and error.statement is None
    if connecting:
        where = database_location(settings.resolved_database_url)
        fail(
            f"cannot connect to the database at {where}: {database_error_reason(error)}",
            ExitCode.DATABASE,
        )
    fail(f"{what}: {error}", ExitCode.DATABASE)


def sync_keyword_index_logged(engine: sa.Engine, settings: Settings) -> None:
    """Make what was just stored keyword-searchable at once (embedding is `index build`'s)."""
    indexed = sync_keyword_index(engine, settings)
    if indexed is None:
        log.info("the index builder running now will index them")
    elif indexed:
        log.info("keyword index: %d papers indexed", indexed)
