"""Embedding on a GPU worker: papers/s of the model alone and of the real pipeline (claim a batch
from the backlog, embed, store the vectors) against a local SQLite store.

Runs where the GPU is (a lent machine, or any CUDA host) with this repository's `src` on the path
and a sentence-transformers model folder (the packaged all-MiniLM-L6-v2, optionally converted to
float16 to travel light). Paper texts are real arXiv titles and abstracts, cycled with a suffix
so every paper's text (and hash) differs.

    python bench/gpu_embed.py --model MODEL_DIR --texts texts.jsonl.gz --papers 100000
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np


def _texts(path: Path) -> list[tuple[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [(row["t"], row["a"]) for row in map(json.loads, handle)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--texts", type=Path, required=True)
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--home", type=Path, default=Path("/tmp/gpu-embed-home"))
    parser.add_argument("--model-texts", type=int, default=10_000, help="texts per model run")
    args = parser.parse_args()

    import sqlalchemy as sa

    from dailypapers.config import load_settings
    from dailypapers.index.embed import embed_backlog
    from dailypapers.index.embeddings import document_text, load_embedder
    from dailypapers.models import PaperRecord, SourceName
    from dailypapers.store.engine import create_db_engine
    from dailypapers.store.papers import LocatedRecord, upsert_papers
    from dailypapers.store.schema import metadata
    from dailypapers.store.vectors import count_backlog, count_vectors

    settings = load_settings({}, home=args.home)
    engine = create_db_engine(settings, create=True)
    metadata.create_all(engine)  # the schema the migrations create (no alembic needed here)
    samples = _texts(args.texts)
    now = datetime.now(UTC)
    started = time.perf_counter()
    for first in range(0, args.papers, 5000):
        batch = []
        for number in range(first, min(first + 5000, args.papers)):
            title, abstract = samples[number % len(samples)]
            record = PaperRecord(
                source=SourceName.GENERIC,
                title=f"{title} ({number})",
                paper_id=f"gpu:{number}",
                abstract=abstract,
            )
            batch.append(LocatedRecord(record, "gpu", str(number)))
        upsert_papers(engine, batch, now=now)
    stored_s = time.perf_counter() - started
    print(f"stored {args.papers:,} papers in {stored_s:.1f} s; backlog {count_backlog(engine):,}")

    embedder = load_embedder(str(args.model), device=args.device)
    texts = [document_text(t, a) for t, a in samples]
    embedder.encode(texts[:512])  # load and warm up
    import torch

    device_name = (
        torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.processor()
    )
    model_rates = []
    for _ in range(3):
        block = (texts * (args.model_texts // len(texts) + 1))[: args.model_texts]
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        began = time.perf_counter()
        embedder.encode(block)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        model_rates.append(len(block) / (time.perf_counter() - began))
    runs = ", ".join(f"{rate:,.0f}" for rate in model_rates)
    print(
        f"model alone ({device_name}): {statistics.median(model_rates):,.0f} papers/s "
        f"(median of 3 runs of {args.model_texts:,}; runs {runs})"
    )

    began = time.perf_counter()
    report = embed_backlog(engine, embedder, batch_size=args.batch, lease_s=600)
    pipeline_s = time.perf_counter() - began
    vectors = count_vectors(engine, model=embedder.name)
    print(
        f"pipeline (claim, embed, store in SQLite), batch {args.batch}: {vectors:,} papers in "
        f"{pipeline_s:.1f} s = {vectors / pipeline_s:,.0f} papers/s "
        f"(model time {report.seconds:.1f} s)"
    )

    # Half precision on the GPU against full precision on the CPU, same texts.
    if args.device != "cpu":
        cpu = load_embedder(str(args.model), device="cpu")
        sample = texts[:256]
        gpu_vectors = embedder.encode(sample)
        cpu_vectors = cpu.encode(sample)
        cosine = np.sum(gpu_vectors * cpu_vectors, axis=1)
        print(
            f"GPU float16 vs CPU float32 vectors: cosine min {cosine.min():.5f}, "
            f"mean {cosine.mean():.6f} over {len(sample)} papers"
        )
    with engine.connect() as conn:
        size = conn.execute(sa.text("select count(*) from paper_vectors")).scalar_one()
    print(f"vectors stored: {size:,}; python {sys.version.split()[0]}; torch {torch.__version__}")


if __name__ == "__main__":
    main()
