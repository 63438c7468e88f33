"""Digest fixtures: a store of real papers (the saved Daily Papers pages), a real SMTP server,
settings that point at it, and confirmed subscribers."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from dailypapers.config import Settings, load_settings
from dailypapers.index.build import sync_keyword_index
from dailypapers.ingest.files import ImportOptions, expand_paths, import_paths
from dailypapers.store.engine import open_store
from dailypapers.store.subscriptions import (
    Preferences,
    Subscription,
    confirm_subscription,
    save_subscription,
)
from tests.smtp_server import SmtpServer

# The seed pages list 38 papers on this day (a Friday) and 32 on 2026-01-07.
DAY = date(2026, 5, 1)
NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def import_seeds(engine: sa.Engine, settings: Settings, seeds_dir: Path) -> None:
    options = ImportOptions(format="auto", reference_date=DAY, batch_size=500)
    import_paths(engine, expand_paths([seeds_dir]), options, now=NOW)
    sync_keyword_index(engine, settings)


@pytest.fixture(scope="session")
def seeded_mail_home(tmp_path_factory: pytest.TempPathFactory, seeds_dir: Path) -> Path:
    home = tmp_path_factory.mktemp("mail") / "home"
    settings = load_settings({}, home=home)
    engine = open_store(settings)
    import_seeds(engine, settings, seeds_dir)
    engine.dispose()
    return home


@pytest.fixture
def mail_home(seeded_mail_home: Path, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(seeded_mail_home, home)
    return home


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def mail_settings(home: Path, server: SmtpServer, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": server.port,
        "smtp_security": "none",
        "smtp_timeout_s": 5,
        "digest_retry_s": 0,
        "public_url": "https://papers.example.org",
        "mail_from": "Daily Papers <digest@papers.example.org>",
    }
    values.update(overrides)
    return load_settings({}, home=home, **values)


@pytest.fixture
def store(mail_home: Path, smtp: SmtpServer) -> Iterator[tuple[sa.Engine, Settings]]:
    settings = mail_settings(mail_home, smtp)
    engine = open_store(settings)
    yield engine, settings
    engine.dispose()


def subscriber(
    engine: sa.Engine, email: str, user_id: int | None = None, **preferences: object
) -> Subscription:
    """A confirmed subscription (as if the link in its confirmation had been followed)."""
    prefs = Preferences(**preferences)  # type: ignore[arg-type]
    saved, _ = save_subscription(engine, email=email, preferences=prefs, now=NOW, user_id=user_id)
    assert confirm_subscription(engine, subscription_id=saved.subscription_id, now=NOW)
    return saved
