"""The task system: time to searchable, a node joining, queue overhead, memory.

    python -m bench.jobs searchable [--papers 1000]     # a day's papers: harvested -> searchable
    python -m bench.jobs join --source real             # 74,728 papers, vectors in the database
    python -m bench.jobs join --source synthetic        # 2.8 M (builds the store if missing)
    python -m bench.jobs overhead [--postgres]          # per task: claim, record, procrastinate
    python -m bench.jobs --smoke                        # tiny versions of all, for CI

`searchable` runs a real `dailypapers serve` (SQLite, jobs on, real MiniLM) against a local
replay server whose Hugging Face list holds a day of real arXiv papers, and times the harvest,
then keyword search and semantic search finding every sampled paper. `join` gives the store's
papers stand-in vectors (a real MiniLM vector of one of 2,000 abstracts, by text hash, plus
noise: the join reads and indexes vectors, it does not compute them), then times a node with an
empty HOME building its keyword index and vector index from the database, in a process of its
own (peak RSS from the kernel). `overhead` times a task that does nothing through the claim and
record path, and procrastinate's defer-to-done round trip on PostgreSQL.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson

from bench.synth import BASE_CORPUS, DEFAULT_SEED, write_corpus

OUT_DIR = Path(__file__).resolve().parent / "out"
PROJECT = Path(__file__).resolve().parents[1]
SYNTHETIC_COUNT = 2_800_000
DAY_FILE = BASE_CORPUS.parent / "2026-07-01.jsonl"


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _iter_papers(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        for line in handle:
            yield orjson.loads(line)


# -- searchable -------------------------------------------------------------------------------


def _process_tree(root: int) -> list[int]:
    """`root` and its descendants, read from /proc."""
    found, waiting = [], [root]
    while waiting:
        pid = waiting.pop()
        found.append(pid)
        for task in Path(f"/proc/{pid}/task").glob("*"):
            children = (task / "children").read_text().split()
            waiting += [int(child) for child in children]
    return found


def _peak_memory(root: int) -> dict[str, float]:
    """Peak resident memory (VmHWM, MB) of the serve process and of each child, by role."""
    peaks: dict[str, float] = {}
    for pid in _process_tree(root):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        peak = next(int(line.split()[1]) for line in status.splitlines() if line[:6] == "VmHWM:")
        if pid == root:
            role = "web node (serve, one worker)"
        elif "multiprocessing.spawn" in command and peak > 100 * 1024:
            role = "job process (harvest, embed, indexes)"
        else:
            continue  # multiprocessing's resource tracker
        peaks[role] = round(peak / 1024)
    return peaks


def _hf_day(papers: list[dict[str, Any]], day: datetime) -> bytes:
    """A Hugging Face /api/daily_papers answer holding these arXiv papers on `day`."""
    stamp = day.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    items = [
        {
            "paper": {
                "id": paper["id"],
                "authors": [{"name": name} for name in paper["authors"][:20]],
                "publishedAt": stamp,
                "title": " ".join(paper["title"].split()),
                "summary": " ".join(paper["summary"].split()),
                "upvotes": 1,
            },
            "publishedAt": stamp,
            "title": " ".join(paper["title"].split()),
            "numComments": 0,
        }
        for paper in papers
    ]
    return json.dumps(items).encode()


def searchable(papers_wanted: int, sample_size: int) -> dict[str, Any]:
    """Harvested page -> keyword-searchable -> semantically searchable, on one machine."""
    sys.path.insert(0, str(PROJECT))
    from tests.replay_server import JSON, ReplayServer, Reply
    from tests.web.conftest import LiveServer

    source = DAY_FILE if DAY_FILE.exists() else BASE_CORPUS
    pool = [p for _, p in zip(range(papers_wanted), _iter_papers(source), strict=False)]
    if len(pool) < papers_wanted:  # a day file holds ~370: top up from the big file
        seen = {p["id"] for p in pool}
        extra = (p for p in _iter_papers(BASE_CORPUS) if p["id"] not in seen)
        pool += [p for _, p in zip(range(papers_wanted - len(pool)), extra, strict=False)]
    home = OUT_DIR / "jobs-searchable"
    shutil.rmtree(home, ignore_errors=True)
    today = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0)
    body = _hf_day(pool, today)
    sample = pool[:: max(1, len(pool) // sample_size)][:sample_size]
    with ReplayServer() as replay:
        replay.route("/api/daily_papers", Reply(body=body, content_type=JSON))
        environment = {
            "DAILYPAPERS_HF_URL": replay.url,
            "DAILYPAPERS_HF_REQUEST_INTERVAL_S": "0",
            "DAILYPAPERS_HARVEST_ARXIV": "false",
            "DAILYPAPERS_HARVEST_BACKFILL_DAYS": "0",
            "DAILYPAPERS_SCHEDULE_HARVEST_HF": "0 0 * * *",  # the period due at start only
            "DAILYPAPERS_SCHEDULE_EMBED": "* * * * * */5",
            "DAILYPAPERS_SEARCH_REFRESH_S": "5",
        }
        server = LiveServer(home, jobs=True, **environment)
        try:
            with httpx.Client(base_url=server.url, timeout=60) as site:
                started = time.monotonic()
                while not replay.requests_to("/api/daily_papers"):
                    time.sleep(0.05)
                asked = time.monotonic()

                def found(mode: str, paper: dict[str, Any]) -> bool:
                    title = " ".join(paper["title"].split())
                    answer = site.get(
                        "/api/v1/search", params={"q": title, "mode": mode, "limit": 10}
                    )
                    if answer.status_code != 200:
                        return False
                    return paper["id"] in [h["paper"]["id"] for h in answer.json()["hits"]]

                timings: dict[str, float] = {}
                for mode in ("keyword", "semantic"):
                    waiting = list(sample)
                    while waiting:
                        waiting = [p for p in waiting if not found(mode, p)]
                        if waiting:
                            time.sleep(1.0)
                        if time.monotonic() - asked > 1800:
                            raise RuntimeError(f"{mode}: {len(waiting)} papers never found")
                    timings[mode] = time.monotonic() - asked
                memory = _peak_memory(server.process.pid)
        finally:
            server.stop()
    return {
        "papers": len(pool),
        "sampled_papers": len(sample),
        "start_to_harvest_request_s": round(asked - started, 1),
        "harvest_to_keyword_searchable_s": round(timings["keyword"], 1),
        "harvest_to_semantically_searchable_s": round(timings["semantic"], 1),
        "peak_rss_mb": memory,
    }


# -- join -------------------------------------------------------------------------------------


def _stand_in_vectors(dimensions: int = 384, sample: int = 2000) -> np.ndarray:
    from dailypapers.index.embeddings import document_text, load_embedder

    model = load_embedder("all-minilm-l6-v2")
    texts = [
        document_text(" ".join(p["title"].split()), " ".join(p["summary"].split()))
        for _, p in zip(range(sample), _iter_papers(BASE_CORPUS), strict=False)
    ]
    vectors = model.encode(texts)
    assert vectors.shape[1] == dimensions
    return vectors


def _fill_vectors(home: Path, real: np.ndarray) -> tuple[int, float]:
    """Give every stored paper a stand-in vector in the database; (papers, seconds)."""
    import sqlalchemy as sa

    from dailypapers.config import load_settings
    from dailypapers.index.embeddings import load_embedder
    from dailypapers.index.vectors import text_hash
    from dailypapers.store.engine import open_store
    from dailypapers.store.schema import embedding_backlog, papers
    from dailypapers.store.vectors import store_vectors

    settings = load_settings({}, home=home)
    engine = open_store(settings)
    model = load_embedder(settings.embedding_model).name
    started = time.perf_counter()
    done = 0
    rng = np.random.default_rng(DEFAULT_SEED)
    with engine.connect() as reader:
        rows = reader.execution_options(stream_results=True, yield_per=20_000).execute(
            sa.select(papers.c.paper_id, papers.c.title, papers.c.abstract)
        )
        for partition in rows.partitions(20_000):
            ids = [str(pid) for pid, _, _ in partition]
            hashes = [text_hash(f"{title}. {abstract}") for _, title, abstract in partition]
            picks = real[np.array([h % len(real) for h in hashes])]
            noisy = picks + 0.35 * rng.standard_normal(picks.shape).astype(np.float32) / 19.6
            noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
            store_vectors(
                engine,
                token="bench",
                model=model,
                vectors=list(zip(ids, hashes, noisy, strict=True)),
                done=[],
                now=datetime.now(UTC),
            )
            done += len(ids)
            print(f"  vectors: {done:,}", end="\r", file=sys.stderr)
    with engine.begin() as conn:
        conn.execute(sa.delete(embedding_backlog))
    engine.dispose()
    return done, time.perf_counter() - started


JOIN_CHILD = """
import json, sys, time
from pathlib import Path
from dailypapers.config import load_settings
from dailypapers.index.build import Progress, sync_local_indexes
from dailypapers.store.engine import open_store
home, database = Path(sys.argv[1]), sys.argv[2]
settings = load_settings({}, home=home, database_url=database)
engine = open_store(settings)

class Stages(Progress):
    # Seconds from each stage's start to its end, summed by name (stages may overlap).
    def __init__(self):
        self.seconds, self.started = {}, {}
    def stage(self, name, total):
        self.started.setdefault(name, time.perf_counter())
    def done(self, name):
        began = self.started.pop(name, None)
        if began is not None:
            self.seconds[name] = self.seconds.get(name, 0) + time.perf_counter() - began

stages = Stages()
started = time.perf_counter()
report = sync_local_indexes(engine, settings, progress=stages)
seconds = time.perf_counter() - started
# VmHWM, not ru_maxrss: the latter keeps the high-water mark of the process that started us.
status = Path("/proc/self/status").read_text().splitlines()
peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
print(json.dumps({"seconds": seconds, "keyword": report.keyword_indexed,
                  "vectors": report.vectors, "peak_rss_mb": peak,
                  "stages_s": {k: round(v, 1) for k, v in stages.seconds.items()}}))
"""


def join(source: str, repeats: int, smoke: bool) -> dict[str, Any]:
    """A node with an empty HOME builds both indexes from a database holding every vector."""
    from dailypapers.config import load_settings

    if smoke:
        data = OUT_DIR / "real-head-2000.jsonl.gz"
        if not data.exists():
            data.parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(BASE_CORPUS, "rb") as full, gzip.open(data, "wb") as head:
                for number, line in enumerate(full):
                    if number == 2000:
                        break
                    head.write(line)
    elif source == "real":
        data = BASE_CORPUS
    else:
        data = OUT_DIR / f"synthetic-{SYNTHETIC_COUNT}-seed{DEFAULT_SEED}.jsonl"
        if not data.exists():
            write_corpus(data, SYNTHETIC_COUNT)
    store_home = OUT_DIR / f"jobs-join-{'smoke' if smoke else source}"
    database = load_settings({}, home=store_home).resolved_database_url
    result: dict[str, Any] = {"source": str(data)}
    ready = store_home / "vectors-ready"
    if not ready.exists():
        shutil.rmtree(store_home, ignore_errors=True)
        environment = {**os.environ, "DAILYPAPERS_HOME": str(store_home)}
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "dailypapers", "-q", "import", str(data)],
            env=environment,
            check=True,
        )
        result["import_s"] = round(time.perf_counter() - started, 1)
        vectors = _stand_in_vectors(sample=64 if smoke else 2000)
        papers, seconds = _fill_vectors(store_home, vectors)
        result["stand_in_vectors_written_s"] = round(seconds, 1)
        ready.write_text(str(papers))
    runs = []
    for _ in range(repeats):
        node = OUT_DIR / "jobs-join-node"
        shutil.rmtree(node, ignore_errors=True)
        done = subprocess.run(
            [sys.executable, "-c", JOIN_CHILD, str(node), database],
            capture_output=True,
            check=True,
            text=True,
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"  join: {runs[-1]}", file=sys.stderr)
    shutil.rmtree(OUT_DIR / "jobs-join-node", ignore_errors=True)
    result |= {
        "papers": runs[0]["keyword"],
        "vectors": runs[0]["vectors"],
        "join_s": [round(r["seconds"], 1) for r in runs],
        "join_median_s": round(statistics.median(r["seconds"] for r in runs), 1),
        "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs)),
        "stages_s": runs[0]["stages_s"],
    }
    return result


# -- overhead ---------------------------------------------------------------------------------


def overhead(count: int, postgres: bool) -> dict[str, Any]:
    """The cost of running a task that does nothing: claim, lease, record (per runner)."""
    sys.path.insert(0, str(PROJECT))
    from dailypapers.config import load_settings
    from dailypapers.jobs.registry import TaskContext, TaskResult, TaskSpec
    from dailypapers.jobs.runtime import ProcessResources, execute_task
    from dailypapers.store.engine import open_store

    def nothing(_ctx: TaskContext) -> TaskResult:
        return TaskResult("nothing")

    spec = TaskSpec("noop", nothing, "* * * * *", "maintenance", "does nothing")
    backends: list[tuple[str, str | None]] = [("sqlite", None)]
    server = None
    if postgres:
        from tests.pg_server import PostgresServer, find_pg_bindir

        bindir = find_pg_bindir()
        if bindir is not None:
            server = PostgresServer(bindir, durable=True)
            server.start()
            backends.append(("postgresql", server.create_database()))
    result: dict[str, Any] = {}
    try:
        for name, url in backends:
            home = OUT_DIR / f"jobs-overhead-{name}"
            shutil.rmtree(home, ignore_errors=True)
            settings = load_settings({}, home=home, database_url=url)
            engine = open_store(settings)
            resources = ProcessResources(engine, settings)
            base = datetime(2026, 1, 1, tzinfo=UTC)
            times = []
            for number in range(count):
                started = time.perf_counter()
                execute_task(
                    spec,
                    engine=engine,
                    settings=settings,
                    resources=resources,
                    scheduled_for=base + timedelta(minutes=number),
                    runner="bench",
                )
                times.append((time.perf_counter() - started) * 1000)
            result[name] = {
                "tasks": count,
                "median_ms": round(statistics.median(times), 2),
                "p99_ms": round(sorted(times)[int(0.99 * (count - 1))], 2),
            }
            if name == "postgresql" and url is not None:
                result["procrastinate"] = _procrastinate_round_trip(url, count)
            engine.dispose()
    finally:
        if server is not None:
            server.stop()
    return result


ROUND_TRIP_CHILD = """
import asyncio, sys, time
import procrastinate
from dailypapers.jobs.queue import conninfo
url, count = sys.argv[1], int(sys.argv[2])
app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(url)))

@app.task(name="bench.nothing", queue="bench")
def nothing() -> None:
    return None

async def main() -> None:
    async with app.open_async():
        started = time.perf_counter()
        for _ in range(count):
            await nothing.defer_async()
        deferred = time.perf_counter() - started
        await app.run_worker_async(queues=["bench"], wait=False, install_signal_handlers=False)
        print(deferred, time.perf_counter() - started - deferred)

asyncio.run(main())
"""


def _procrastinate_round_trip(url: str, count: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", ROUND_TRIP_CHILD, url, str(count)],
        capture_output=True,
        check=True,
        text=True,
    )
    deferred_s, ran_s = map(float, done.stdout.split())
    return {
        "jobs": count,
        "defer_ms_per_job": round(1000 * deferred_s / count, 2),
        "run_ms_per_job": round(1000 * ran_s / count, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", choices=["searchable", "join", "overhead"])
    parser.add_argument("--source", choices=["real", "synthetic"], default="real")
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    header = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "load_before": _load(),
    }
    results: dict[str, Any] = {}
    if args.smoke:
        results["overhead"] = overhead(20, postgres=False)
        results["join"] = join("real", repeats=1, smoke=True)
    elif args.what == "searchable":
        results["searchable"] = searchable(args.papers, args.sample)
    elif args.what == "join":
        results["join"] = join(args.source, args.repeats, smoke=False)
    elif args.what == "overhead":
        results["overhead"] = overhead(args.tasks, postgres=args.postgres)
    else:
        parser.error("say what to measure (searchable, join, overhead) or --smoke")
    header["load_after"] = _load()
    print(json.dumps({**header, **results}, indent=2))


if __name__ == "__main__":
    main()
