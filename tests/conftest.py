"""Shared fixtures: paths to the real sample data beside the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED = PROJECT_ROOT.parent / "shared"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real sample data not found at {path} (expected ../shared beside the checkout)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data`: real public inputs; tests skip with a message when it is absent."""
    return _require(SHARED / "data")


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    """`../shared/seeds`: the saved Daily Papers pages."""
    return _require(SHARED / "seeds")
