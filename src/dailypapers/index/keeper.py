"""Keeping a node's derived indexes following the database, from a background thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.index.build import IndexBusy, sync_local_indexes

logger = logging.getLogger(__name__)


class NodeIndexKeeper:
    """Keeps this node's keyword and vector indexes following the database, from a thread.

    Every process that searches (web workers, job runners) runs one; the index writer lock
    makes one of them do the work per HOME while the others skip the pass.
    """

    def __init__(
        self,
        engine: sa.Engine,
        settings: Settings,
        *,
        interval_s: float,
        after_sync: Callable[[], object] | None = None,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._interval_s = interval_s
        self._after_sync = after_sync  # run in the keeper's thread after each pass
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sync_once(self) -> None:
        try:
            sync_local_indexes(
                self._engine, self._settings, wait=False, should_stop=self._stop.is_set
            )
        except IndexBusy:
            pass  # another process on this node is syncing the same indexes
        except Exception:  # a failed pass is retried at the next interval
            logger.exception("syncing this node's indexes failed")
        if self._after_sync is not None:
            self._after_sync()

    def start(self) -> None:
        if self._thread is not None or self._interval_s <= 0:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(self._interval_s):
                self.sync_once()

        self._thread = threading.Thread(target=loop, name="dailypapers-index-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
