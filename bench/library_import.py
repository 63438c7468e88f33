"""Library import speed: a 5,000-entry BibTeX library into a collection, against a store holding
the 74,728 real arXiv papers of ../shared/data/arxiv-cs-2025, offline (no arXiv lookups).

The store is built once with the real importer (`import_paths`). Each run then writes a fresh
BibTeX file generated from the stored papers (seeded; nothing is committed): the forms a real
library mixes,

    30 %  `eprint = {2503.01234}, archivePrefix = {arXiv}`      matched by arXiv id
    15 %  `journal = {arXiv preprint arXiv:2503.01234v2}`       matched by arXiv id
    10 %  `url = {https://arxiv.org/abs/2503.01234v1}`          matched by arXiv id
    25 %  title only, case changed, a word in {braces}          matched by title
     8 %  an unknown paper with a DOI                           unmatched: stored under its DOI
    11 %  an unknown paper with a title only                    unmatched: stored title-only
     1 %  no title                                              failed, with the reason

with the stored authors as "Last, First and ..." and a year, and times `run_library_import`
(parse, match, store the unmatched, add to a new collection) for one new reader, then the
same file again into the same collection (everything matched, nothing added). The papers each
run matches are a new sample and its unknown entries are new, so no run is a warm repeat.

    python -m bench.library_import              # 74,728 papers, 5,000 entries, 3 runs
    python -m bench.library_import --quick      # 3,000 papers, 500 entries, 1 run (smoke test)
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from dailypapers.config import load_settings
from dailypapers.ingest.files import ImportOptions, import_paths
from dailypapers.ingest.library import read_entries, run_library_import
from dailypapers.store.accounts import create_user
from dailypapers.store.collections import create_collection
from dailypapers.store.engine import open_store
from dailypapers.store.schema import papers

LISTING = (
    Path(__file__).resolve().parents[1].parent
    / "shared/data/arxiv-cs-2025/arxiv-cs-2025-03_2026-07.jsonl.gz"
)
GOAL_S = 10.0
FORMS = (
    ("eprint", 0.30),
    ("journal", 0.15),
    ("url", 0.10),
    ("title", 0.25),
    ("unknown-doi", 0.08),
    ("unknown", 0.11),
    ("broken", 0.01),
)
# Words for the titles of papers no store has (made up here: no paper text is committed).
WORDS = (
    "adaptive sparse graph neural operators for robust multimodal reasoning under distribution"
    " shift efficient retrieval augmented planning with hierarchical memory latent diffusion"
    " contrastive calibration benchmark towards scalable federated spectral kernel learning"
).split()


def build_store(home: Path, limit: int | None) -> tuple[sa.Engine, float, int]:
    """Import the listing (its first `limit` lines), as `dailypapers import` does."""
    source = LISTING
    if limit is not None:
        source = home.parent / "sample.jsonl"
        with gzip.open(LISTING) as lines, source.open("wb") as out:
            for number, line in enumerate(lines):
                if number >= limit:
                    break
                out.write(line)
    settings = load_settings({}, home=home)
    engine = open_store(settings)
    now = datetime.now(UTC)
    started = time.perf_counter()
    options = ImportOptions("auto", now.date(), settings.import_batch_size)
    summary = import_paths(engine, [source], options, now=now)
    seconds = time.perf_counter() - started
    if summary.failed:
        sys.exit(f"import of {source} failed: {summary.failures[:3]}")
    with engine.connect() as conn:
        count = int(conn.execute(sa.select(sa.func.count()).select_from(papers)).scalar_one())
    return engine, seconds, count


def stored_sample(engine: sa.Engine) -> list[tuple[str, str, list[str]]]:
    """(id, title, authors) of every stored paper."""
    query = sa.select(papers.c.paper_id, papers.c.title, papers.c.authors)
    with engine.connect() as conn:
        return [(row[0], row[1], orjson.loads(row[2])) for row in conn.execute(query)]


def _authors(names: Sequence[str]) -> str:
    parts = []
    for name in names[:8]:
        words = name.replace("{", "").replace("}", "").split()
        parts.append(f"{words[-1]}, {' '.join(words[:-1])}" if len(words) > 1 else name)
    return " and ".join(parts)


def _shuffled_title(title: str, rng: random.Random) -> str:
    """The title as a bibliography writes it: case changed, one word protected by braces."""
    words = title.replace("{", "").replace("}", "").split()
    if rng.random() < 0.5:
        words = [w.lower() if i else w for i, w in enumerate(words)]
    plain = [i for i, w in enumerate(words) if "$" not in w and "\\" not in w]
    if plain:  # braces inside a formula would change what it says
        index = rng.choice(plain)
        words[index] = "{" + words[index] + "}"
    return " ".join(words)


def generate_library(
    stored: Sequence[tuple[str, str, list[str]]], entries: int, seed: int
) -> tuple[str, dict[str, int]]:
    """A BibTeX library of `entries` entries in the FORMS mix; returns it and its form counts."""
    rng = random.Random(seed)
    forms = rng.choices([f for f, _ in FORMS], weights=[w for _, w in FORMS], k=entries)
    known = iter(
        rng.sample(list(stored), sum(f in ("eprint", "journal", "url", "title") for f in forms))
    )
    chunks, counts = [], dict.fromkeys((f for f, _ in FORMS), 0)
    for number, form in enumerate(forms):
        counts[form] += 1
        key = f"e{seed}x{number}"
        if form in ("unknown", "unknown-doi", "broken"):
            title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 11)))
            title = f"{title.capitalize()} ({seed}-{number})"
            fields = [
                "author = {Doe, Jane and Roe, Richard}",
                f"year = {{{rng.randint(2015, 2025)}}}",
            ]
            if form != "broken":
                fields.insert(0, f"title = {{{title}}}")
            if form == "unknown-doi":
                fields.append(f"doi = {{10.5555/bench.{seed}.{number}}}")
            chunks.append(f"@article{{{key},\n  " + ",\n  ".join(fields) + "\n}\n")
            continue
        paper_id, title, names = next(known)
        fields = [f"title = {{{_shuffled_title(title, rng) if form == 'title' else title}}}"]
        fields.append(f"author = {{{_authors(names)}}}")
        fields.append(f"year = {{20{paper_id[:2]}}}")
        version = rng.randint(1, 3)
        if form == "eprint":
            fields += [f"eprint = {{{paper_id}}}", "archivePrefix = {arXiv}"]
        elif form == "journal":
            fields.append(f"journal = {{arXiv preprint arXiv:{paper_id}v{version}}}")
        elif form == "url":
            fields.append(f"url = {{https://arxiv.org/abs/{paper_id}v{version}}}")
        else:
            fields.append("booktitle = {Proceedings of a Conference}")
        kind = "misc" if form == "url" else "article"
        chunks.append(f"@{kind}{{{key},\n  " + ",\n  ".join(fields) + "\n}\n")
    return "\n".join(chunks), counts


def timed_import(
    engine: sa.Engine, settings: Any, data: bytes, collection_id: int, user_id: int
) -> tuple[float, Any]:
    started = time.perf_counter()
    report = run_library_import(
        engine,
        settings,
        data=data,
        origin="library.bib",
        collection_id=collection_id,
        user_id=user_id,
        now=datetime.now(UTC),
    )
    return time.perf_counter() - started, report


def one_run(
    engine: sa.Engine,
    settings: Any,
    stored: Sequence[tuple[str, str, list[str]]],
    args: argparse.Namespace,
    run: int,
) -> dict[str, Any]:
    seed = args.seed + run
    text, forms = generate_library(stored, args.entries, seed)
    data = text.encode()
    started = time.perf_counter()
    entries, failed = read_entries(data, origin="library.bib", format="bibtex")
    parse_s = time.perf_counter() - started
    now = datetime.now(UTC)
    user = create_user(engine, username=f"bench-{seed}", password_hash="x", email=None, now=now)
    collection = create_collection(engine, owner_id=user.user_id, name="Library", now=now)
    first_s, first = timed_import(engine, settings, data, collection.collection_id, user.user_id)
    again_s, again = timed_import(engine, settings, data, collection.collection_id, user.user_id)
    expected_known = forms["eprint"] + forms["journal"] + forms["url"] + forms["title"]
    if first.count("matched") < expected_known * 0.99 or again.added:
        sys.exit(f"run {run}: unexpected report {first.counts} / again {again.counts}")
    return {
        "entries": len(entries) + len(failed),
        "bytes": len(data),
        "forms": forms,
        "parse_s": parse_s,
        "import_s": first_s,
        "reimport_s": again_s,
        "counts": first.counts,
        "added": first.added,
        "again_counts": again.counts,
        "again_added": again.added,
        "again_already_there": again.already_there,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--quick", action="store_true", help="3,000 papers, 500 entries, 1 run (smoke test)")
    add("--entries", type=int, help="entries per library (default 5,000)")
    add("--runs", type=int, help="libraries imported (default 3)")
    add("--papers", type=int, help="import only the first N papers of the listing")
    add("--seed", type=int, default=20261204)
    add("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    quick = {"entries": 500, "runs": 1, "papers": 3_000}
    full = {"entries": 5_000, "runs": 3, "papers": None}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if not LISTING.exists():
        sys.exit(f"real data not found at {LISTING} (expected ../shared beside main)")
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-library-") as scratch:
        home = Path(scratch) / "home"
        engine, build_s, count = build_store(home, args.papers)
        settings = load_settings({}, home=home)
        stored = stored_sample(engine)
        runs = [one_run(engine, settings, stored, args, run) for run in range(args.runs)]
        engine.dispose()
    first = runs[0]
    print(
        f"store: {count:,} real papers (SQLite), imported in {build_s:.1f} s; "
        f"library: {first['entries']:,} BibTeX entries, {first['bytes'] / 1e6:.2f} MB, "
        f"forms {first['forms']}"
    )
    print(f"\n{'run':>4} {'parse s':>8} {'import s':>9} {'re-import s':>12}  report")
    for number, run in enumerate(runs, 1):
        print(
            f"{number:>4} {run['parse_s']:>8.2f} {run['import_s']:>9.2f} {run['reimport_s']:>12.2f}"
            f"  {run['counts']}, added {run['added']}; again added {run['again_added']},"
            f" already there {run['again_already_there']}"
        )
    imports = [run["import_s"] for run in runs]
    median = statistics.median(imports)
    verdict = "met" if max(imports) < GOAL_S else "NOT met"
    print(
        f"\nimport median {median:.2f} s (min {min(imports):.2f}, max {max(imports):.2f});"
        f" re-import median {statistics.median(r['reimport_s'] for r in runs):.2f} s;"
        f" parse median {statistics.median(r['parse_s'] for r in runs):.2f} s;"
        f" goal < {GOAL_S:.0f} s: {verdict}"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.platform()}, Python"
        f" {platform.python_version()}, load {load:.2f} at start;"
        f" date {datetime.now(UTC).isoformat(timespec='seconds')}"
    )
    if args.json:
        results = {"papers": count, "store_import_s": build_s, "runs": runs, "load": load}
        args.json.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
