"""Entry point for ASGI servers: `uvicorn --factory dailypapers.web.asgi:app_from_environment`."""

from __future__ import annotations

import os

from fastapi import FastAPI

from dailypapers.config import load_settings
from dailypapers.web.app import create_app


def app_from_environment() -> FastAPI:
    """The app configured from DAILYPAPERS_* variables (each worker process builds its own)."""
    return create_app(load_settings(os.environ))
