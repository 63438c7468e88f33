"""Memory under a long mixed load: does each web worker's resident memory stay flat?

`dailypapers serve --workers 2 --no-jobs` over the benchmark's SQLite data directory (see
bench/web.py: 74,728 real papers, simulated list days) answers the mix of bench/web.py (daily
pages, paper pages and keyword search pages in turn, thousands of distinct URLs) from 200
connections for 10 minutes, driven by one wrk process. Every 10 s the resident memory of each
worker process is read from /proc (VmRSS, what `ps` shows, and RssAnon, its heap part) and the
run is printed as a table.

Flat means: from the end of the warm-up (the first 2 minutes, while the caches fill) to the
last sample, no worker's VmRSS rises by more than FLAT_GROWTH (5 %) or FLAT_MB (32 MB),
whichever is larger. The exit status is 1 when memory is not flat or any request failed.

    python -m bench.soak --reuse                  # 10 minutes on bench/out/web-real
    python -m bench.soak --reuse --src ../before  # the server of another source tree
    python -m bench.soak --smoke                  # tiny, for CI: 2,000 papers, 20 s
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench.web import (
    OUT_DIR,
    _git_commit,
    add_data_arguments,
    data_description,
    machine_info,
    make_cases,
    parse_wrk,
    prepare_home,
    running_server,
    write_path_files,
    wrk_command,
)

FLAT_GROWTH = 0.05
FLAT_MB = 32.0


def sample_memory(
    worker_memory: Any, wrk: subprocess.Popen[str], *, sample_s: float, started: float
) -> list[dict[str, Any]]:
    """Each worker's memory every `sample_s` seconds until wrk exits (and once at the end)."""
    samples = []
    while True:
        elapsed = time.monotonic() - started
        samples.append(
            {
                "t_s": round(elapsed, 1),
                "workers": worker_memory(),
                "load_average_1m": os.getloadavg()[0],
            }
        )
        if wrk.poll() is not None:
            return samples
        wait = sample_s - (time.monotonic() - started) % sample_s
        try:
            wrk.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


def flatness(samples: list[dict[str, Any]], warmup_s: float) -> dict[str, Any]:
    """Growth of each worker's VmRSS from the first sample after the warm-up to the last,
    and whether it stays within the limit."""
    settled = [s for s in samples if s["t_s"] >= warmup_s] or samples[-1:]
    first, last = settled[0]["workers"], settled[-1]["workers"]
    growth = []
    for before, after in zip(first, last, strict=False):
        grown = after["rss_mb"] - before["rss_mb"]
        allowed = max(FLAT_GROWTH * before["rss_mb"], FLAT_MB)
        growth.append({"from_mb": before["rss_mb"], "to_mb": after["rss_mb"], "grown_mb": grown})
        growth[-1] |= {"allowed_mb": round(allowed, 1), "flat": grown <= allowed}
    peak = max(sum(w["rss_mb"] for w in s["workers"]) for s in samples)
    return {
        "from_t_s": settled[0]["t_s"],
        "to_t_s": settled[-1]["t_s"],
        "workers": growth,
        "flat": all(each["flat"] for each in growth) and len(first) == len(last),
        "peak_total_rss_mb": peak,
    }


def table(samples: list[dict[str, Any]]) -> list[str]:
    count = max(len(s["workers"]) for s in samples)
    names = [f"worker {n + 1}" for n in range(count)]
    header = ["t s", *(f"{n} RSS MB" for n in names), *(f"{n} anon MB" for n in names), "load"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for sample in samples:
        workers = sample["workers"]
        cells = [f"{sample['t_s']:.0f}"]
        cells += [f"{w['rss_mb']:.0f}" for w in workers] + ["-"] * (count - len(workers))
        cells += [f"{w['anon_mb']:.0f}" for w in workers] + ["-"] * (count - len(workers))
        cells.append(f"{sample['load_average_1m']:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def report(result: dict[str, Any]) -> str:
    machine, settings, wrk = result["machine"], result["settings"], result["wrk"]
    verdict = result["flatness"]
    lines = [
        f"date: {machine['date_utc']}; machine: {machine['cpus']} CPUs ({machine['cpu_model']}),"
        f" {machine['ram_gb']} GB RAM, load {machine['load_average_1m_start']:.1f} at start;"
        f" Python {machine['python']}, SQLite {machine['sqlite']}, {machine['wrk']};"
        f" server from commit {result['server_commit']}",
        f"data: {result['papers']:,} papers; mix of {result['urls']:,} URLs (daily, paper and"
        f" keyword search pages in turn)",
        f"settings: serve --workers {settings['workers']} --no-jobs; wrk -t{settings['threads']}"
        f" -c{settings['connections']} -d{settings['duration_s']}s; memory every"
        f" {settings['sample_s']:g} s"
        + (f"; server environment {settings['server_env']}" if settings["server_env"] else ""),
        f"load: {wrk['requests']:,} requests, {wrk['requests_per_s']:,.0f} req/s, p99"
        f" {wrk['p99_ms']:,.0f} ms, {wrk['errors']} errors",
        "",
        *table(result["samples"]),
        "",
        f"flat = no worker's VmRSS grows by more than {FLAT_GROWTH:.0%} or {FLAT_MB:g} MB"
        f" (the larger) from {verdict['from_t_s']:.0f} s (after the warm-up) to the last sample:",
    ]
    for number, each in enumerate(verdict["workers"], start=1):
        lines.append(
            f"  worker {number}: {each['from_mb']:.0f} -> {each['to_mb']:.0f} MB"
            f" ({each['grown_mb']:+.0f} MB, allowed {each['allowed_mb']:.0f}):"
            f" {'flat' if each['flat'] else 'GROWING'}"
        )
    lines.append(f"memory {'flat' if verdict['flat'] else 'NOT FLAT'}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict[str, Any]:
    machine = machine_info()
    home, _ = prepare_home(args)
    cases = make_cases(home, paper_count=args.papers, query_count=args.queries, mix_connections=0)
    mix = next(case for case in cases if case.name == "mix")
    extra_env = dict(item.split("=", 1) for item in args.server_env)
    with tempfile.TemporaryDirectory() as scratch:
        paths_file = write_path_files(Path(scratch), [mix])["mix"]
        server = running_server(
            home, workers=args.workers, page_cache_s=None, extra_env=extra_env, src=args.src
        )
        with server as running:
            command = wrk_command(
                running.url,
                paths_file,
                threads=args.threads,
                connections=args.connections,
                duration_s=args.duration_s,
                timeout_s=args.timeout_s,
            )
            started = time.monotonic()
            with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as wrk:
                samples = sample_memory(
                    running.worker_memory, wrk, sample_s=args.sample_s, started=started
                )
                stdout = wrk.stdout.read() if wrk.stdout else ""
            figures = parse_wrk(wrk.returncode, stdout, "")
    return {
        "smoke": args.smoke,
        "machine": machine,
        "server_commit": _git_commit(args.src) if args.src else machine["commit"],
        "papers": data_description(home)["papers"],
        "urls": len(mix.paths),
        "settings": {
            "workers": args.workers,
            "threads": args.threads,
            "connections": args.connections,
            "duration_s": args.duration_s,
            "sample_s": args.sample_s,
            "warmup_s": args.warmup_s,
            "server_env": extra_env,
        },
        "wrk": figures,
        "samples": samples,
        "flatness": flatness(samples, args.warmup_s),
        "load_average_1m_end": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--src", type=Path, metavar="TREE", help="serve from this source tree")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--duration-s", type=int, default=600)
    parser.add_argument("--sample-s", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--warmup-s", type=float, default=120.0, help="left out of the verdict")
    parser.add_argument("--timeout-s", type=int, default=5, help="wrk request timeout")
    parser.add_argument("--papers", type=int, default=5000, help="distinct paper pages")
    parser.add_argument("--queries", type=int, default=2000, help="distinct search queries")
    parser.add_argument("--server-env", nargs="*", default=[], metavar="NAME=VALUE")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    if args.smoke:
        args.workers, args.connections, args.duration_s = 1, 8, 20
        args.sample_s, args.warmup_s, args.papers, args.queries = 2.0, 6.0, 200, 100
    result = run(args)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    out = args.json_out or OUT_DIR / f"soak-{'smoke' if args.smoke else 'real'}-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(report(result))
    print(f"\nJSON: {out}")
    if not result["flatness"]["flat"] or result["wrk"]["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
