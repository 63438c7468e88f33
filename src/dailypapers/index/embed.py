"""Embedding the backlog: claim papers, embed their text once, store the vectors for every node.

Any number of workers (a GPU machine among them) may run this against one database at once:
each claims its own batch under a lease (see store/vectors.py), skips papers whose current text
already has a vector, and writes vectors and takes papers off the backlog in one transaction.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from dailypapers.index.embeddings import Embedder, document_text
from dailypapers.index.vectors import text_hash
from dailypapers.store.checkpoints import get_checkpoint, set_checkpoint
from dailypapers.store.vectors import (
    BacklogEntry,
    claim_backlog,
    enqueue_missing,
    release_claims,
    store_vectors,
    vector_hashes,
)

logger = logging.getLogger(__name__)
EMBEDDING_MODEL_CHECKPOINT = "embedding:model"
Clock = Callable[[], datetime]


@dataclass(slots=True)
class EmbedReport:
    """What one embedding run did."""

    embedded: int = 0  # papers whose vector was computed and stored
    unchanged: int = 0  # papers taken off the backlog: their text had a vector already
    seconds: float = 0.0  # time spent in the model
    finished: bool = True  # False when stopped with papers still waiting

    @property
    def papers_per_s(self) -> float | None:
        return self.embedded / self.seconds if self.seconds > 0 else None


def _utc_now() -> datetime:
    return datetime.now(UTC)


def queue_for_model(engine: sa.Engine, *, model: str, now: datetime) -> int:
    """When the embedding model differs from the one the backlog was last filled for, queue
    every paper without a vector by `model`; returns how many were queued (0 otherwise)."""
    if get_checkpoint(engine, key=EMBEDDING_MODEL_CHECKPOINT) == model:
        return 0
    queued = enqueue_missing(engine, model=model, now=now)
    set_checkpoint(engine, key=EMBEDDING_MODEL_CHECKPOINT, value=model, now=now)
    if queued:
        logger.info("embedding model %s: %d papers to embed", model, queued)
    return queued


def embed_backlog(
    engine: sa.Engine,
    embedder: Embedder,
    *,
    batch_size: int = 256,
    lease_s: float = 600.0,
    max_seconds: float | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_progress: Callable[[int], None] | None = None,
    clock: Clock = _utc_now,
) -> EmbedReport:
    """Embed waiting papers batch by batch until the backlog is empty, `max_seconds` have
    passed, or `should_stop` says so. A batch is stored whole or not at all."""
    token = secrets.token_hex(16)
    report = EmbedReport()
    started = time.monotonic()
    try:
        while True:
            if should_stop is not None and should_stop():
                report.finished = False
                return report
            if max_seconds is not None and time.monotonic() - started > max_seconds:
                report.finished = False
                return report
            now = clock()
            batch = claim_backlog(
                engine,
                token=token,
                now=now,
                lease_until=now + timedelta(seconds=lease_s),
                limit=batch_size,
            )
            if not batch:
                return report
            _embed_batch(engine, embedder, token, batch, report, clock)
            if on_progress is not None:
                on_progress(len(batch))
    finally:
        # Claims not finished (a stop, an error) go back at once instead of after the lease.
        release_claims(engine, token=token)


def _embed_batch(
    engine: sa.Engine,
    embedder: Embedder,
    token: str,
    batch: list[BacklogEntry],
    report: EmbedReport,
    clock: Clock,
) -> None:
    texts = {entry.paper_id: document_text(entry.title, entry.abstract) for entry in batch}
    hashes = {paper_id: text_hash(text) for paper_id, text in texts.items()}
    stored = vector_hashes(engine, model=embedder.name, paper_ids=list(texts))
    todo = [paper_id for paper_id in texts if stored.get(paper_id) != hashes[paper_id]]
    vectors = []
    if todo:
        began = time.monotonic()
        computed = embedder.encode([texts[paper_id] for paper_id in todo])
        report.seconds += time.monotonic() - began
        vectors = [(paper_id, hashes[paper_id], computed[row]) for row, paper_id in enumerate(todo)]
    written = store_vectors(
        engine,
        token=token,
        model=embedder.name,
        vectors=vectors,
        done=list(texts),
        now=clock(),
    )
    report.embedded += written
    report.unchanged += len(texts) - len(todo)
    logger.debug("embedded %d papers (%d unchanged)", written, len(texts) - len(todo))
