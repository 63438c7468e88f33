"""Trends: uncached render time of /trends and its JSON twins, and the trends task's time.

The data set is the 74,728 real papers of ../shared/data/arxiv-cs-2025 as bench/web.py
prepares them (bench/out/web-real: list days spread over the weekdays of 2025-03-18 ..
2026-07-01 in file order, seeded heavy-tailed upvotes; SIMULATED, since the file has no
dates). The file has no publication dates either, so here each paper is also published on its
list day (one UPDATE, SIMULATED) and the keyword index is built afresh, so that a query's share
per month has months to count. Only the SQLite file is copied; bench/out/web-real is not changed.

Each URL is requested in-process (FastAPI's TestClient, no server lifespan, so no index keeper
runs beside the measurement), the anonymous page cache off and this process's query-share
cache emptied before every request: every figure is an uncached render. `--runs` requests per
URL, interleaved across URLs, the median reported.

    python -m bench.trends                # prepare bench/out/trends-real once, then measure
    python -m bench.trends --runs 15
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from dailypapers.config import Settings, load_settings
from dailypapers.index.build import sync_keyword_index
from dailypapers.store.engine import open_store
from dailypapers.store.trends import refresh_trends
from dailypapers.web.app import create_app
from dailypapers.web.trends_views import share_cache

OUT_DIR = Path(__file__).resolve().parent / "out"
SOURCE_HOME = OUT_DIR / "web-real"
HOME = OUT_DIR / "trends-real"
DATABASE = "dailypapers.sqlite3"
GOAL_MS = 200.0
URLS = {
    "page": "/trends",
    "page, 2 queries": "/trends?q=%22state+space%22&q=transformer",
    "page, 5 queries, 60 months": (
        "/trends?q=%22state+space%22&q=transformer&q=%22diffusion+model%22"
        "&q=%22reinforcement+learning%22&q=agent&months=60"
    ),
    "JSON all": "/api/v1/trends?q=%22state+space%22&q=transformer",
    "JSON daily": "/api/v1/trends/daily",
    "JSON weekly": "/api/v1/trends/weekly",
    "JSON queries (2)": "/api/v1/trends/queries?q=%22state+space%22&q=transformer",
    "JSON top": "/api/v1/trends/top",
    "JSON rising": "/api/v1/trends/rising",
}


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _settings(home: Path) -> Settings:
    return load_settings({}, home=home, page_cache_s=0, allowed_hosts="testserver")


def prepare(home: Path) -> dict[str, Any]:
    """Copy the database, publish each paper on its list day, build the keyword index."""
    if not (SOURCE_HOME / DATABASE).exists():
        raise SystemExit(f"{SOURCE_HOME} not found: run `python -m bench.web` once first")
    home.mkdir(parents=True)
    shutil.copyfile(SOURCE_HOME / DATABASE, home / DATABASE)
    settings = _settings(home)
    engine = open_store(settings)  # migrates to this release's schema
    started = time.perf_counter()
    with engine.begin() as conn:
        # SIMULATED: the listing file has no dates; a paper is published on its list day.
        published = conn.execute(
            sa.text(
                "UPDATE papers SET published = list_date || ' 00:00:00.000000'"
                " WHERE published IS NULL AND list_date IS NOT NULL"
            )
        ).rowcount
    _log(f"published {published:,} papers on their list day")
    sync_keyword_index(engine, settings)
    index_s = time.perf_counter() - started
    engine.dispose()
    return {"published_set": published, "index_s": round(index_s, 1)}


def time_refresh(engine: sa.Engine, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        times.append(refresh_trends(engine, now=datetime.now(UTC)).seconds)
    return times


def measure(client: TestClient, runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in URLS}
    for url in URLS.values():  # once each first: templates compiled, files opened
        assert client.get(url).status_code == 200, url
    for _ in range(runs):
        for name, url in URLS.items():
            share_cache.clear()
            started = time.perf_counter()
            response = client.get(url)
            times[name].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.text[:200])
    return times


def machine_info() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if "model name" in line), cpu)
    command = ["git", "describe", "--always", "--dirty", "--abbrev=7"]
    root = Path(__file__).resolve().parents[1]
    commit = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    return {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": len(os.sched_getaffinity(0)),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "commit": commit.stdout.strip() or "unknown",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="requests per URL (median)")
    parser.add_argument("--home", type=Path, default=HOME)
    args = parser.parse_args()
    prepared = prepare(args.home) if not (args.home / DATABASE).exists() else {}
    settings = _settings(args.home)
    engine = open_store(settings)
    papers = engine.connect().execute(sa.text("SELECT count(*) FROM papers")).scalar_one()
    refresh = time_refresh(engine, 3)
    machine = machine_info()
    load_before = os.getloadavg()[0]
    app = create_app(settings)
    client = TestClient(app, base_url="http://testserver")  # no `with`: no index keeper
    times = measure(client, args.runs)
    load_after = os.getloadavg()[0]
    app.state.dp.engine.dispose()
    engine.dispose()
    print(f"Trends, {papers:,} papers, {machine['date_utc']}, commit {machine['commit']}")
    print(f"{machine['cpus']} CPUs ({machine['cpu_model']}), Python {machine['python']}, "
          f"SQLite {machine['sqlite']}; load average {load_before:.1f} before, "
          f"{load_after:.1f} after")  # fmt: skip
    if prepared:
        print(f"prepared: {prepared}")
    print(f"trends task (refresh_trends), median of 3: {statistics.median(refresh) * 1000:.0f} ms")
    print(f"\n| request (uncached, median of {args.runs}) | median ms | min ms | max ms |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        flag = "" if statistics.median(values) < GOAL_MS else " (over 200 ms)"
        print(
            f"| `{URLS[name]}` ({name}) | {statistics.median(values):.1f}{flag} "
            f"| {min(values):.1f} | {max(values):.1f} |"
        )


if __name__ == "__main__":
    main()
