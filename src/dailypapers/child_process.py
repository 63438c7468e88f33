"""Helper processes for long CPU-bound commands: forked where possible, always reaped."""

from __future__ import annotations

import multiprocessing
from multiprocessing.context import BaseContext
from typing import Any

# How long a child may take to end once asked (then it is killed).
STOP_TIMEOUT_S = 5.0


def fork_context() -> BaseContext | None:
    """The context helper processes are started from, or None where processes cannot be
    forked (the command then does the work in its own process)."""
    try:
        return multiprocessing.get_context("fork")
    except ValueError:
        return None


def stop_process(child: Any, *, at_once: bool) -> None:
    """Wait for a child to end (with `at_once`: end it now), killing it if it does not."""
    if at_once and child.is_alive():
        child.terminate()
    child.join(STOP_TIMEOUT_S)
    if child.is_alive():
        child.kill()
        child.join()
