"""Entry point for ASGI servers: `uvicorn --factory dailypapers.web.asgi:app_from_environment`."""

from __future__ import annotations

import os

from fastapi import FastAPI

from dailypapers.config import SettingsError, load_settings
from dailypapers.web.app import create_app


def app_from_environment() -> FastAPI:
    """The app configured from DAILYPAPERS_* variables (each worker process builds its own)."""
    try:
        settings = load_settings(os.environ)
    except SettingsError as error:
        # One line per bad variable, not a traceback from each worker; the server stops.
        raise SystemExit(f"dailypapers cannot start: bad settings\n{error}") from None
    return create_app(settings)
