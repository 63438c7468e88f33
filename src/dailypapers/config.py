"""One typed Settings object, read from DAILYPAPERS_* environment variables at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting, its default and its meaning; docs/settings.md documents each one."""

    model_config = SettingsConfigDict(env_prefix="DAILYPAPERS_", extra="ignore", frozen=True)

    home: Path = Field(
        default=Path("var"),
        description="Data directory: the SQLite database and derived files live here.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the database, e.g. postgresql+psycopg://user:pw@host/db. "
            "Empty means SQLite at HOME/dailypapers.sqlite3."
        ),
    )
    auto_migrate: bool = Field(
        default=True,
        description="Bring the database schema up to date when a command opens it.",
    )
    import_batch_size: int = Field(
        default=2000,
        ge=1,
        le=100_000,
        description="Records written per transaction during imports and harvests.",
    )
    http_timeout_s: float = Field(
        default=30.0, gt=0, description="Connect and read timeout for every upstream request."
    )
    http_max_retries: int = Field(
        default=5, ge=0, le=20, description="Retries per upstream request before giving up."
    )
    http_backoff_s: float = Field(
        default=2.0, ge=0, description="First retry delay; doubles on each further retry."
    )
    http_max_wait_s: float = Field(
        default=300.0,
        ge=0,
        description="Longest Retry-After the harvester will wait; a longer one ends the run.",
    )
    arxiv_request_interval_s: float = Field(
        default=3.0, ge=0, description="Minimum seconds between requests to arXiv (its policy)."
    )
    hf_request_interval_s: float = Field(
        default=1.0, ge=0, description="Minimum seconds between requests to Hugging Face."
    )
    arxiv_oai_url: str = Field(
        default="https://oaipmh.arxiv.org/oai", description="arXiv OAI-PMH endpoint."
    )
    arxiv_api_url: str = Field(
        default="https://export.arxiv.org/api/query", description="arXiv API query endpoint."
    )
    arxiv_rss_url: str = Field(
        default="https://rss.arxiv.org/rss", description="arXiv announcement RSS base URL."
    )
    hf_url: str = Field(
        default="https://huggingface.co", description="Hugging Face base URL for daily papers."
    )
    embedding_model: str = Field(
        default="all-minilm-l6-v2",
        description=(
            "Model that embeds papers and queries for semantic search; changing it re-embeds "
            "every paper into a new vector index (the old one serves until that is complete)."
        ),
    )
    embedding_chunk_rows: int = Field(
        default=4096,
        ge=16,
        le=100_000,
        description="Papers embedded per chunk file; an interrupted build loses at most one chunk.",
    )
    contact_email: str = Field(
        default="",
        description="Sent in the User-Agent of harvest requests so upstream can reach you.",
    )

    @property
    def resolved_database_url(self) -> str:
        """The database URL to connect to, defaulting to SQLite inside `home`."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'dailypapers.sqlite3').resolve()}"


def load_settings(environ: Mapping[str, str], **overrides: object) -> Settings:
    """Build Settings from an environment mapping (tests pass a dict) plus explicit overrides."""
    prefix = "DAILYPAPERS_"
    values: dict[str, object] = {
        key[len(prefix) :].lower(): value
        for key, value in environ.items()
        if key.startswith(prefix) and key[len(prefix) :].lower() in Settings.model_fields
    }
    values.update({key: value for key, value in overrides.items() if value is not None})
    return Settings.model_validate(values)
