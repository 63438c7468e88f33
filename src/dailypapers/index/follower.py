"""Keyword indexing beside an import: a second process follows the store as batches commit.

`dailypapers import` used to index everything it stored after the last batch, one paper at a
time in the same process. A follower process runs `update_keyword_index` with `follow`: it
reads each batch soon after it commits and indexes it while the import goes on, so that on
two cores the indexing is done (nearly) when the import is. It is the same owner of the
index, with the same writer lock and watermark, so the index ends exactly as a sync after
the import would leave it. Where processes cannot be forked, or the follower fails, the
import syncs afterwards as before.
"""

from __future__ import annotations

import logging
import os
import signal
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from typing import Any

import sqlalchemy as sa

from dailypapers.child_process import fork_context, stop_process
from dailypapers.config import Settings
from dailypapers.index.build import sync_keyword_index
from dailypapers.index.keyword import update_keyword_index
from dailypapers.index.layout import IndexLayout
from dailypapers.store.engine import create_db_engine

log = logging.getLogger("dailypapers")

# How often the follower looks for new batches while the import has committed none.
POLL_S = 0.2


class _ImportFollow:
    """`keyword.Follow` for a follower process: the import sets `done` when it has finished."""

    def __init__(self, done: Any, parent: int) -> None:
        self._done = done
        self._parent = parent

    def finished(self) -> bool:
        # An import that died can commit nothing more: index what it committed and stop.
        return bool(self._done.is_set()) or os.getppid() != self._parent

    def wait(self) -> None:
        self._done.wait(POLL_S)


def _follow_in_child(settings: Settings, done: Any, parent: int, out: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides, and stops this process
    try:
        engine = create_db_engine(settings, create=False)
        layout = IndexLayout.under(settings.home)
        with layout.writer_lock(wait=False) as acquired:
            if not acquired:
                out.send(("busy", None))
                return
            follow = _ImportFollow(done, parent)
            out.send(("indexed", update_keyword_index(engine, layout, follow=follow)))
        engine.dispose()
    except Exception:
        out.send(("failed", traceback.format_exc()))
    finally:
        out.close()


class KeywordFollower:
    """A follower process, or none (then `finish` syncs in this process)."""

    def __init__(self, context: BaseContext | None, settings: Settings) -> None:
        self._settings = settings
        self._child: Any = None
        if context is None:
            return
        self._done = context.Event()
        self._results, send = context.Pipe(duplex=False)
        self._child = context.Process(  # type: ignore[attr-defined]
            target=_follow_in_child,
            args=(settings, self._done, os.getpid(), send),
            name="dailypapers-keyword",
            daemon=True,
        )
        self._child.start()
        send.close()

    def finish(self, engine: sa.Engine) -> int | None:
        """Wait until everything stored is indexed: how many papers were indexed, or None when
        another process writes the indexes (it will index them)."""
        if self._child is None:
            return sync_keyword_index(engine, self._settings)
        self._done.set()
        try:
            kind, value = self._results.recv()
        except EOFError:
            kind, value = "failed", "the keyword indexing process ended unexpectedly"
        stop_process(self._child, at_once=False)
        self._child = None
        if kind == "failed":
            log.warning("keyword indexing beside the import failed; indexing now: %s", value)
            return sync_keyword_index(engine, self._settings)
        return None if kind == "busy" else int(value)

    def stop(self) -> None:
        """End the follower at once (the import failed); what it committed stays consistent."""
        if self._child is not None:
            stop_process(self._child, at_once=True)
            self._child = None


@contextmanager
def following_keyword_index(settings: Settings, *, parallel: bool) -> Iterator[KeywordFollower]:
    """A follower for an import (with `parallel` and where processes can be forked), stopped
    if the import raises; call `finish` to wait for the index to be up to date."""
    follower = KeywordFollower(fork_context() if parallel else None, settings)
    try:
        yield follower
    finally:
        follower.stop()
