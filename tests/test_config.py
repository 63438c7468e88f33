"""Settings: read from a given environment, validated, and all documented."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dailypapers.config import Settings, SettingsError, allowed_values, load_settings

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


def test_each_bad_value_is_one_line_naming_the_variable_value_and_what_is_allowed() -> None:
    env = {
        "DAILYPAPERS_IMPORT_BATCH_SIZE": "0",
        "DAILYPAPERS_SMTP_SECURITY": "ssl",
        "DAILYPAPERS_AUTO_MIGRATE": "maybe",
        "DAILYPAPERS_SMTP_PASSWORD": "fine",
        "DAILYPAPERS_PAGE_CACHE_S": "-1",
    }
    with pytest.raises(SettingsError) as raised:
        load_settings(env)
    assert sorted(raised.value.problems) == [
        "DAILYPAPERS_AUTO_MIGRATE='maybe': must be true or false",
        "DAILYPAPERS_IMPORT_BATCH_SIZE='0': must be a whole number from 1 to 100000",
        "DAILYPAPERS_PAGE_CACHE_S='-1': must be a number, at least 0",
        "DAILYPAPERS_SMTP_SECURITY='ssl': must be one of starttls, tls, none",
    ]
    assert str(raised.value) == "\n".join(raised.value.problems)


def test_trusted_proxies_are_addresses_or_networks() -> None:
    settings = load_settings({"DAILYPAPERS_FORWARDED_ALLOW_IPS": " 10.0.0.5, 10.1.0.0/16,::1 "})
    assert settings.forwarded_allow_ips == "10.0.0.5,10.1.0.0/16,::1"
    assert load_settings({}).forwarded_allow_ips == ""  # nobody is trusted
    with pytest.raises(SettingsError) as raised:
        load_settings({"DAILYPAPERS_FORWARDED_ALLOW_IPS": "10.0.0.5,proxy.lan"})
    assert raised.value.problems == [
        "DAILYPAPERS_FORWARDED_ALLOW_IPS='10.0.0.5,proxy.lan': 'proxy.lan' is not an IP "
        "address or network (write 10.0.0.1, 10.0.0.0/8, ::1 or *)"
    ]


def test_the_web_app_refuses_to_start_with_a_bad_setting(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    env |= {"DAILYPAPERS_HOME": str(tmp_path), "DAILYPAPERS_DIGEST_HOUR_UTC": "24"}
    code = "from dailypapers.web.asgi import app_from_environment; app_from_environment()"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "dailypapers cannot start: bad settings",
        "DAILYPAPERS_DIGEST_HOUR_UTC='24': must be a whole number from -1 to 23",
    ]


def _row(name: str) -> str:
    rows = [
        line
        for line in DOCS.read_text(encoding="utf-8").splitlines()
        if line.startswith(f"| `DAILYPAPERS_{name.upper()}` |")
    ]
    wanted = f"| `DAILYPAPERS_{name.upper()}` | DEFAULT | {allowed_values(name)} | MEANING |"
    assert len(rows) == 1, f"docs/settings.md needs one row {wanted}"
    return rows[0]


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented_with_what_it_allows(name: str) -> None:
    cells = [cell.strip() for cell in _row(name).strip("|").split("|")]
    assert len(cells) == 4, "| variable | default | allowed | meaning |"
    assert cells[2] == allowed_values(name)
