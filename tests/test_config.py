"""Settings: read from a given environment, validated, and all documented."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from dailypapers.config import Settings, load_settings

DOCS = Path(__file__).resolve().parent.parent / "docs" / "settings.md"


def test_environment_is_a_parameter_and_overrides_win() -> None:
    env = {"DAILYPAPERS_HOME": "/srv/papers", "DAILYPAPERS_HTTP_MAX_RETRIES": "2", "HOME": "/x"}
    settings = load_settings(env, database_url="postgresql+psycopg://u@h/db")
    assert settings.home == Path("/srv/papers")
    assert settings.http_max_retries == 2
    assert settings.resolved_database_url == "postgresql+psycopg://u@h/db"


def test_default_database_is_sqlite_inside_home(tmp_path: Path) -> None:
    settings = load_settings({}, home=tmp_path)
    expected = f"sqlite:///{tmp_path.resolve()}/dailypapers.sqlite3"
    assert settings.resolved_database_url == expected


def test_bad_value_names_the_setting() -> None:
    with pytest.raises(ValidationError, match="import_batch_size"):
        load_settings({"DAILYPAPERS_IMPORT_BATCH_SIZE": "0"})


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    assert f"`DAILYPAPERS_{name.upper()}`" in DOCS.read_text(encoding="utf-8")
