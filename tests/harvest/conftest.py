"""Fixtures for harvest tests: a running replay server and a clock that only moves on sleep."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.replay_server import ReplayServer


class FakeTime:
    """A monotonic clock that advances only when `sleep` is called; records every wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def replay_server() -> Iterator[ReplayServer]:
    """A real HTTP server on 127.0.0.1 with no routes yet; stopped after the test."""
    with ReplayServer() as server:
        yield server


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()
