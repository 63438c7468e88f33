"""One typed Settings object, read from DAILYPAPERS_* environment variables at start-up."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

# An allowed host: a name ('.name' for it and its subdomains), an IPv4 or [IPv6] address, or '*'.
# Weights of the ONNX query encoder (index/onnx_encoder.py).
QueryPrecision = Literal["int8", "float32"]
_HOST_ENTRY = re.compile(r"\*|\.?[a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\]")


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
    database_connect_timeout_s: int = Field(
        default=10,
        ge=2,
        le=600,
        description=(
            "Seconds to wait for a PostgreSQL server to accept a connection before giving up "
            "with an error naming it (an unreachable host otherwise hangs for minutes)."
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
    query_encoder_precision: QueryPrecision = Field(
        default="int8",
        description=(
            "Weights of the model that encodes search queries on ONNX Runtime: int8 (half the "
            "time a query, vectors within cosine 0.98 of float32's) or float32 (PyTorch's "
            "vectors to 1e-5)."
        ),
    )
    embedding_chunk_rows: int = Field(
        default=4096,
        ge=16,
        le=100_000,
        description="Papers embedded per chunk file; an interrupted build loses at most one chunk.",
    )
    site_name: str = Field(
        default="dailypapers", description="Name shown in page titles and feeds."
    )
    public_url: str = Field(
        default="",
        description=(
            "Address people reach the site at (e.g. https://papers.example.org), used for links "
            "in feeds and emails; empty means the address of each request, and for emails the "
            "address `serve` listens on (`digest run` then refuses to send)."
        ),
    )
    allowed_hosts: str = Field(
        default="127.0.0.1,localhost,[::1]",
        description=(
            "Comma-separated host names the site answers to (the Host header); others get 400. "
            "'.example.org' also allows its subdomains, '*' any host. The host of public_url "
            "is always allowed."
        ),
    )
    cookie_secure: bool = Field(
        default=False,
        description=(
            "Mark session cookies Secure even when a request arrives over plain HTTP (set it "
            "behind a TLS-terminating proxy); requests over HTTPS always get Secure cookies."
        ),
    )
    forwarded_allow_ips: str = Field(
        default="",
        description=(
            "Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For "
            "and X-Forwarded-Proto headers `serve` believes (the client's address for login "
            "throttling, https for cookies and links); '*' trusts any sender, empty none."
        ),
    )
    session_days: int = Field(
        default=30, ge=1, le=365, description="Days a login session lasts without logging in again."
    )
    allow_signup: bool = Field(default=True, description="Let anyone create an account.")
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description=(
            "Failed logins allowed per account and client address within login_window_s before "
            "each further try must wait (1 s, doubling; six times as many per address)."
        ),
    )
    login_window_s: int = Field(
        default=900,
        ge=1,
        description="Window in seconds over which failed logins are counted (older ones lapse).",
    )
    login_max_delay_s: int = Field(
        default=60, ge=1, description="Longest wait between login tries once they are slowed."
    )
    max_body_bytes: int = Field(
        default=65_536,
        ge=1024,
        description="Largest request body accepted; a larger one is refused with 413.",
    )
    max_upload_bytes: int = Field(
        default=10_485_760,
        ge=1024,
        description=(
            "Largest library file (or pasted library) the import form and API accept, instead "
            "of max_body_bytes; a larger one is refused with 413 naming this limit."
        ),
    )
    page_cache_s: float = Field(
        default=5.0,
        ge=0,
        description=(
            "Seconds an anonymous list, paper or search page may be served from memory "
            "(0 turns the cache off, and the pages kept while unchanged); a vote or "
            "comment on this node clears it at once."
        ),
    )
    search_refresh_s: float = Field(
        default=30.0,
        ge=0,
        description="How often the web server looks for newer search indexes (seconds).",
    )
    search_ranker: bool = Field(
        default=True,
        description=(
            "Order hybrid search results with the learned ranker shipped with the package "
            "(false: the keyword and semantic scores' weighted sum alone)."
        ),
    )
    submit_lookup_online: bool = Field(
        default=True,
        description="Look a submitted arXiv id up on arXiv when it is not stored yet.",
    )
    contact_email: str = Field(
        default="",
        description="Sent in the User-Agent of harvest requests so upstream can reach you.",
    )

    secret_key: str = Field(
        default="",
        description=(
            "Key that signs unsubscribe, confirmation and manage links; empty means a random key "
            "made once and kept in the database (shared by every node)."
        ),
    )
    smtp_host: str = Field(
        default="", description="SMTP server for email digests; empty means no mail is sent."
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP server port.")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="starttls (upgrade a plain connection, port 587), tls (port 465) or none.",
    )
    smtp_username: str = Field(default="", description="SMTP login name; empty means no AUTH.")
    smtp_password: str = Field(default="", description="SMTP password (with smtp_username).")
    smtp_timeout_s: float = Field(
        default=30.0, gt=0, description="Connect and per-command timeout for the SMTP server."
    )
    smtp_ca_file: Path | None = Field(
        default=None,
        description="CA bundle that signs the SMTP server's certificate; empty means the system's.",
    )
    mail_from: str = Field(
        default="dailypapers <dailypapers@localhost>",
        description="From address of every email the site sends.",
    )
    listen_url: str = Field(
        default="",
        description=(
            "Set by `serve` for its workers: the address it listens on, which links in emails "
            "use when public_url is empty. Set public_url instead."
        ),
    )
    digest_hour_utc: int = Field(
        default=7,
        ge=-1,
        le=23,
        description=(
            "Hour (UTC) from which the digests task builds the day's digests when smtp_host is "
            "set; -1 turns the task off (run `dailypapers digest run` from cron instead)."
        ),
    )
    digest_lookback_days: int = Field(
        default=3,
        ge=1,
        le=60,
        description=(
            "Days of lists a daily digest draws on (a weekly one: 6 more); papers already sent "
            "to a subscriber are never sent again, so the windows may overlap."
        ),
    )
    digest_section_papers: int = Field(
        default=10, ge=1, le=100, description="Most papers in each section of a digest."
    )
    digest_batch_size: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="Messages claimed and sent over one SMTP connection at a time.",
    )
    digest_max_attempts: int = Field(
        default=8,
        ge=1,
        le=100,
        description="Delivery attempts per message before it is marked failed for the admin.",
    )
    digest_retry_s: float = Field(
        default=60.0,
        ge=0,
        description="Delay before the first retry of a message; doubles each time (6 h at most).",
    )
    digest_lease_s: float = Field(
        default=600.0,
        gt=0,
        description=(
            "How long a sender holds the messages it claimed; a sender that died is taken over "
            "after this."
        ),
    )
    for_you_days: int = Field(
        default=14,
        ge=1,
        le=365,
        description=(
            "Days of lists the For you page picks from, counted back from the newest list day;"
            " it reaches further back while they hold fewer than 90 papers new to the reader."
        ),
    )

    # -- jobs: what runs by itself (docs/operations.md) ------------------------------------------
    harvest_hf: bool = Field(
        default=True, description="Harvest Hugging Face's daily papers on schedule_harvest_hf."
    )
    harvest_arxiv: bool = Field(
        default=True,
        description=(
            "Harvest arXiv's announcements (schedule_harvest_arxiv) and OAI-PMH changes "
            "(schedule_harvest_oai) in harvest_categories."
        ),
    )
    harvest_categories: str = Field(
        default="cs.AI,cs.CL,cs.CV,cs.LG",
        description="Comma-separated arXiv categories the arXiv harvests follow.",
    )
    harvest_backfill_days: int = Field(
        default=30,
        ge=0,
        le=365,
        description=(
            "Days of Hugging Face lists and arXiv papers a new site harvests on its first start, "
            "newest first (0: none)."
        ),
    )
    schedule_harvest_hf: str = Field(
        default="20 */2 * * *",
        description="When to harvest Hugging Face's daily lists (cron, UTC; they grow all day).",
    )
    schedule_harvest_arxiv: str = Field(
        default="30 1 * * *",
        description=(
            "When to harvest arXiv's announcement feeds (cron, UTC; arXiv announces at 20:00 "
            "US Eastern, 00:00 or 01:00 UTC)."
        ),
    )
    schedule_harvest_oai: str = Field(
        default="0 7 * * *",
        description="When to harvest arXiv's OAI-PMH changes since the last run (cron, UTC).",
    )
    schedule_embed: str = Field(
        default="* * * * *",
        description="When to embed papers waiting for a vector (cron, UTC).",
    )
    schedule_digests: str = Field(
        default="* * * * *",
        description=(
            "When to build due digests (from digest_hour_utc on) and send due messages (cron, UTC)."
        ),
    )
    schedule_prune: str = Field(
        default="17 3 * * *",
        description="When to delete what has expired or passed retention_days (cron, UTC).",
    )
    schedule_trends: str = Field(
        default="*/15 * * * *",
        description=(
            "When to recount papers per list day and category and find the rising topics "
            "for /trends (cron, UTC)."
        ),
    )
    schedule_notifications: str = Field(
        default="*/15 * * * *",
        description=(
            "When to notify readers of new papers by the authors they follow and of papers "
            "added to the public collections they follow (cron, UTC)."
        ),
    )
    retention_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description=(
            "Days delivered outbox messages, papers sent per subscriber (by list day), finished "
            "task runs and removed-paper records are kept."
        ),
    )
    jobs_lease_s: float = Field(
        default=60.0,
        ge=1,
        le=3600,
        description=(
            "How long a running task holds its period (renewed while it runs); a runner that "
            "died is taken over after this."
        ),
    )
    worker_heartbeat_s: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description=(
            "How often a PostgreSQL worker reports it is alive; its jobs are retried by another "
            "worker after three missed beats."
        ),
    )
    embedding_device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        default="auto",
        description="Where papers are embedded: auto (a GPU when there is one), cpu, cuda or mps.",
    )
    embedding_batch_papers: int = Field(
        default=256,
        ge=1,
        le=100_000,
        description="Papers an embedding worker claims at a time (use thousands on a GPU).",
    )
    embedding_lease_s: float = Field(
        default=300.0,
        ge=1,
        le=86_400,
        description=(
            "How long an embedding worker holds the batch it claimed; the batch of a worker that "
            "died is embedded by another after this (keep it above a batch's embedding time)."
        ),
    )

    @field_validator(
        "schedule_harvest_hf",
        "schedule_harvest_arxiv",
        "schedule_harvest_oai",
        "schedule_embed",
        "schedule_digests",
        "schedule_prune",
        "schedule_trends",
        "schedule_notifications",
    )
    @classmethod
    def _check_schedule(cls, value: str) -> str:
        from croniter import croniter

        text = " ".join(value.split())
        if not croniter.is_valid(text):
            raise ValueError(
                f"{value!r} is not a cron schedule (five fields: minute hour day month weekday, "
                "e.g. '20 */2 * * *'; a sixth for seconds)"
            )
        return text

    @field_validator("allowed_hosts")
    @classmethod
    def _check_allowed_hosts(cls, value: str) -> str:
        entries = [entry.strip().lower().rstrip(".") for entry in value.split(",")]
        for entry in entries:
            if entry and not _HOST_ENTRY.fullmatch(entry):
                raise ValueError(
                    f"{entry!r} is not a host name (write example.org, .example.org, "
                    "127.0.0.1, [::1] or *, without scheme or port)"
                )
        return ",".join(entry for entry in entries if entry)

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _check_forwarded_allow_ips(cls, value: str) -> str:
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for entry in entries:
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or network (write 10.0.0.1, "
                    "10.0.0.0/8, ::1 or *)"
                ) from None
        return ",".join(entries)

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
    try:
        return Settings.model_validate(values)
    except ValidationError as error:
        raise SettingsError([_problem(detail) for detail in error.errors()]) from None


class SettingsError(ValueError):
    """Settings that failed validation: one line per bad variable, naming what is allowed."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


_HIDDEN = frozenset({"secret_key", "smtp_password", "database_url"})


def _problem(detail: Any) -> str:
    """`DAILYPAPERS_NAME='value': must be ...` for one pydantic error."""
    name = str(detail["loc"][0]) if detail["loc"] else ""
    if name not in Settings.model_fields:
        return str(detail["msg"])
    value = "(hidden)" if name in _HIDDEN else repr(str(detail["input"]))
    if detail["type"] == "value_error":  # a validator's own message says what is wrong
        reason = str(detail["msg"]).removeprefix("Value error, ")
    else:
        reason = f"must be {allowed_values(name)}"
    return f"DAILYPAPERS_{name.upper()}={value}: {reason}"


def allowed_values(name: str) -> str:
    """What a setting accepts, in words, from its type and bounds (docs/settings.md shows it)."""
    field = Settings.model_fields[name]
    kind = field.annotation
    optional = get_origin(kind) in (Union, UnionType) and type(None) in get_args(kind)
    if optional:
        kind = next(arg for arg in get_args(kind) if arg is not type(None))
    if get_origin(kind) is Literal:
        words = "one of " + ", ".join(str(choice) for choice in get_args(kind))
    elif kind is bool:
        words = "true or false"
    elif kind in (int, float):
        noun = "a whole number" if kind is int else "a number"
        words = noun + _bounds(field)
    elif kind is Path:
        words = "a path"
    elif name.startswith("schedule_"):
        words = "a cron schedule (5 fields, or 6 with seconds last)"
    else:
        words = "text"
    return f"{words}, or empty" if optional else words


def _bounds(field: FieldInfo) -> str:
    low: Any = None
    high: Any = None
    low_strict = high_strict = False
    for rule in field.metadata:
        if isinstance(rule, annotated_types.Ge):
            low = rule.ge
        elif isinstance(rule, annotated_types.Gt):
            low, low_strict = rule.gt, True
        elif isinstance(rule, annotated_types.Le):
            high = rule.le
        elif isinstance(rule, annotated_types.Lt):
            high, high_strict = rule.lt, True
    if low is not None and high is not None and not (low_strict or high_strict):
        return f" from {low} to {high}"
    parts = []
    if low is not None:
        parts.append(f"greater than {low}" if low_strict else f"at least {low}")
    if high is not None:
        parts.append(f"less than {high}" if high_strict else f"at most {high}")
    return ", " + " and ".join(parts) if parts else ""
