"""Import speed: papers/s, wall time and peak memory of `dailypapers import`, SQLite and PostgreSQL.

Each import runs as its own `dailypapers import --json` process (interpreter start, migrations
and all), watched from outside: wall time, peak RSS (VmHWM from /proc) and the RSS when the
child has read 25/50/75/100% of the input (from /proc), which shows whether memory stays flat.
Every run gets a fresh database, imports the file, then imports it again (every paper unchanged).

    python -m bench.import_speed                       # real 74,728 papers + 2.8 M synthetic
    python -m bench.import_speed --source real --runs 3
    python -m bench.import_speed --smoke               # tiny, for CI: 2,000 records, 1 run
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import orjson
import psycopg
from tests.pg_server import PostgresServer, find_pg_bindir

from bench.synth import BASE_CORPUS, DEFAULT_SEED, write_corpus

OUT_DIR = Path(__file__).resolve().parent / "out"
QUARTILES = (25, 50, 75)
SAMPLE_INTERVAL_S = 0.1
SMOKE_COUNT = 2_000
Database = Literal["sqlite", "postgres"]
Phase = Literal["import", "re-import"]


@dataclass(frozen=True, slots=True)
class DataSet:
    """One input file of the benchmark."""

    name: str
    path: Path
    records: int
    bytes_on_disk: int
    bytes_uncompressed: int


@dataclass(slots=True)
class ChildRun:
    """What one watched import process did."""

    seconds: float
    exit_code: int
    peak_rss_mb: float
    rss_at_progress_mb: dict[str, float] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    load_average: float = 0.0


@dataclass(slots=True)
class Measurement:
    """One phase (import or re-import) of one run, with its papers/s."""

    dataset: str
    database: Database
    phase: Phase
    run: int
    records: int
    child: ChildRun
    database_bytes: int | None = None

    @property
    def papers_per_s(self) -> float:
        """Records of the input per second of wall time."""
        return self.records / self.child.seconds


# ---------------------------------------------------------------- watching a child process


def _read_status_kb(pid: int, key: str) -> int | None:
    with suppress(OSError), open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def _process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (the import's parsing and keyword indexing processes)."""
    found = [pid]
    for parent in found:
        with suppress(OSError):
            for task in os.listdir(f"/proc/{parent}/task"):
                with suppress(OSError), open(f"/proc/{parent}/task/{task}/children") as kids:
                    found.extend(int(kid) for kid in kids.read().split())
    return found


def _pss_kb(pid: int) -> int:
    """Proportional set size: a forked child's pages shared with its parent count once."""
    with suppress(OSError), open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def _input_position(pids: list[int], target: Path) -> int | None:
    """How far the import has read into `target` (the offset of a descriptor open on it)."""
    for pid in pids:
        with suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == str(target):
                        with open(f"/proc/{pid}/fdinfo/{fd}") as info:
                            return int(info.readline().split()[1])
    return None


def _note_progress(pid: int, data: DataSet, notes: dict[str, float]) -> None:
    # VmHWM, not getrusage: Linux carries the parent's high-water mark into a forked child.
    # With helper processes the memory is the import's and its children's summed PSS (as
    # sampled), when that is more than the import's own high-water mark.
    pids = _process_tree(pid)
    peak_kb = _read_status_kb(pid, "VmHWM")
    tree_kb = sum(_pss_kb(each) for each in pids) if len(pids) > 1 else 0
    if peak_kb is not None:
        notes["peak"] = max(notes.get("peak", 0.0), peak_kb / 1024, tree_kb / 1024)
    position = _input_position(pids, data.path)
    rss_kb = _read_status_kb(pid, "VmRSS")
    if tree_kb:
        rss_kb = tree_kb
    if position is None or rss_kb is None:
        return
    done = 100 * position / max(data.bytes_on_disk, 1)
    for mark in QUARTILES:
        if done >= mark and f"{mark}%" not in notes:
            notes[f"{mark}%"] = rss_kb / 1024
    notes["last"] = rss_kb / 1024


def watch_child(command: list[str], data: DataSet) -> ChildRun:
    """Run `command`, sampling its RSS against input progress; JSON stdout becomes the summary."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err)
        notes: dict[str, float] = {}
        while True:
            pid, status = os.waitpid(proc.pid, os.WNOHANG)
            if pid:
                break
            _note_progress(proc.pid, data, notes)
            time.sleep(SAMPLE_INTERVAL_S)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return _child_run(seconds, proc.returncode, notes, out.read(), err.read())


def _child_run(
    seconds: float, code: int, notes: dict[str, float], out: bytes, err: bytes
) -> ChildRun:
    # Exit code 1 means some records failed (counted in the summary), but a crash is also 1.
    try:
        summary = orjson.loads(out) if code in (0, 1) else None
    except orjson.JSONDecodeError:
        summary = None
    if not isinstance(summary, dict):
        raise RuntimeError(f"import exited with {code}: {err.decode(errors='replace')[-3000:]}")
    failures = summary.pop("failures", [])
    summary["first_failures"] = failures[:5]
    profile = {mark: round(mb, 1) for mark, mb in notes.items() if mark.endswith("%")}
    if "last" in notes:
        profile["100%"] = round(notes["last"], 1)
    return ChildRun(
        seconds=seconds,
        exit_code=code,
        peak_rss_mb=round(notes.get("peak", 0.0), 1),
        rss_at_progress_mb=profile,
        summary=summary,
        load_average=os.getloadavg()[0],
    )


# ---------------------------------------------------------------- databases


def import_command(data: DataSet, home: Path, database_url: str | None) -> list[str]:
    """The `dailypapers import` command line, run by this interpreter."""
    command = [sys.executable, "-m", "dailypapers"]
    command += ["--home", str(home)]
    if database_url:
        command += ["--database-url", database_url]
    return [*command, "import", str(data.path), "--json"]


def _pg_conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def postgres_database_bytes(url: str) -> int:
    """pg_database_size of the database behind `url`."""
    with psycopg.connect(_pg_conninfo(url)) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


def drop_postgres_database(server: PostgresServer, url: str) -> None:
    """Drop a benchmark database so 2.8 M-paper runs do not fill the disk."""
    name = url.rsplit("/", 1)[1]
    admin = f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}"')


@contextmanager
def fresh_database(
    database: Database, server: PostgresServer | None
) -> Iterator[tuple[Path, str | None]]:
    """A data directory and (for PostgreSQL) a new empty database, removed afterwards."""
    home = Path(tempfile.mkdtemp(prefix="dailypapers-bench-"))
    url = server.create_database() if database == "postgres" and server else None
    try:
        yield home, url
    finally:
        shutil.rmtree(home, ignore_errors=True)
        if url and server:
            drop_postgres_database(server, url)


def database_bytes(home: Path, url: str | None) -> int:
    """Size of the stored database: the SQLite file (with any WAL) or pg_database_size."""
    if url:
        return postgres_database_bytes(url)
    return sum(p.stat().st_size for p in home.glob("dailypapers.sqlite3*"))


# ---------------------------------------------------------------- running


def measure_run(
    data: DataSet, database: Database, run: int, server: PostgresServer | None
) -> Iterator[Measurement]:
    """A fresh database: import `data`, then import it again (all unchanged)."""
    with fresh_database(database, server) as (home, url):
        child = watch_child(import_command(data, home, url), data)
        first = Measurement(data.name, database, "import", run, data.records, child)
        first.database_bytes = database_bytes(home, url)
        yield first
        child = watch_child(import_command(data, home, url), data)
        yield Measurement(data.name, database, "re-import", run, data.records, child)


def run_all(
    datasets: list[DataSet], databases: list[Database], runs: int, server: PostgresServer | None
) -> list[Measurement]:
    """Every (data set, database, run) with progress printed as it goes."""
    results: list[Measurement] = []
    for data in datasets:
        for database in databases:
            for run in range(1, runs + 1):
                for item in measure_run(data, database, run, server):
                    _print_progress(item)
                    results.append(item)
    return results


def _print_progress(item: Measurement) -> None:
    counts = item.child.summary
    print(
        f"  {item.dataset:<10} {item.database:<8} {item.phase:<9} run {item.run}: "
        f"{item.child.seconds:8.1f} s {item.papers_per_s:>9,.0f} papers/s "
        f"peak {item.child.peak_rss_mb:6.0f} MB  imported {counts.get('imported')} "
        f"unchanged {counts.get('unchanged')} failed {counts.get('failed')} "
        f"(load {item.child.load_average:.1f})",
        flush=True,
    )


# ---------------------------------------------------------------- data sets


def _count_lines(path: Path) -> tuple[int, int]:
    lines = size = 0
    with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as stream:
        while chunk := stream.read(1 << 22):
            lines += chunk.count(b"\n")
            size += len(chunk)
    return lines, size


def describe(name: str, path: Path) -> DataSet:
    """A DataSet for a file: its record count (lines) and sizes."""
    records, uncompressed = _count_lines(path)
    return DataSet(name, path.resolve(), records, path.stat().st_size, uncompressed)


def real_head(limit: int) -> Path:
    """The first `limit` real papers as a gzipped file of their own (cached in bench/out)."""
    path = OUT_DIR / f"real-head-{limit}.jsonl.gz"
    if not path.exists():
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        with gzip.open(BASE_CORPUS, "rb") as source, gzip.open(path, "wb") as target:
            for number, line in enumerate(source):
                if number >= limit:
                    break
                target.write(line)
    return path


def synthetic(count: int, seed: int) -> Path:
    """The synthetic snapshot of `count` records, generated once and cached in bench/out."""
    path = OUT_DIR / f"synthetic-{count}-seed{seed}.jsonl"
    if not path.exists():
        print(f"generating {count:,} synthetic records into {path} ...", flush=True)
        write_corpus(path, count, seed=seed)
    return path


def prepare_datasets(args: argparse.Namespace) -> list[DataSet]:
    """The inputs named by --source, generating or cutting them as needed."""
    datasets = []
    if args.source in ("real", "both"):
        path = real_head(args.real_limit) if args.real_limit else BASE_CORPUS
        datasets.append(describe("real", path))
    if args.source in ("synthetic", "both"):
        datasets.append(describe("synthetic", synthetic(args.count, args.seed)))
    return datasets


# ---------------------------------------------------------------- machine and report


def machine_info(server: PostgresServer | None) -> dict[str, Any]:
    """The machine, software versions and date, printed with every result."""
    cpu = "unknown"
    memory_kb = 0
    with suppress(OSError), open("/proc/cpuinfo") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if "model name" in line), cpu)
    with suppress(OSError), open("/proc/meminfo") as info:
        memory_kb = int(next(line.split()[1] for line in info if line.startswith("MemTotal")))
    return {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": len(os.sched_getaffinity(0)),
        "cpu_model": cpu,
        "ram_gb": round(memory_kb / 1024**2, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgres": server.version() if isinstance(server, PostgresServer) else None,
        "load_average_1m": os.getloadavg()[0],
        "batch_size": os.environ.get("DAILYPAPERS_IMPORT_BATCH_SIZE", "2000 (default)"),
        "commit": _git_commit(),
    }


def _git_commit() -> str:
    """The measured code's commit, with "+dirty" when src/ has uncommitted changes."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}+dirty" if dirty else head or "unknown"


def summarize(results: list[Measurement]) -> list[dict[str, Any]]:
    """Median, min and max papers/s per (data set, database, phase), with memory figures."""
    groups: dict[tuple[str, str, str], list[Measurement]] = {}
    for item in results:
        groups.setdefault((item.dataset, item.database, item.phase), []).append(item)
    rows = []
    for (dataset, database, phase), items in groups.items():
        rates = [item.papers_per_s for item in items]
        middle = sorted(items, key=lambda item: item.papers_per_s)[len(items) // 2]
        sizes = [item.database_bytes for item in items if item.database_bytes is not None]
        rows.append(
            {
                "dataset": dataset,
                "database": database,
                "phase": phase,
                "runs": len(items),
                "records": items[0].records,
                "papers_per_s_median": statistics.median(rates),
                "papers_per_s_min": min(rates),
                "papers_per_s_max": max(rates),
                "seconds_median": statistics.median(item.child.seconds for item in items),
                "peak_rss_mb": max(item.child.peak_rss_mb for item in items),
                "rss_at_progress_mb": middle.child.rss_at_progress_mb,
                "database_mb": round(statistics.median(sizes) / 1e6, 1) if sizes else None,
            }
        )
    return rows


def _profile_text(profile: dict[str, float]) -> str:
    marks = [f"{m}%" for m in QUARTILES] + ["100%"]
    return " / ".join(f"{profile[m]:.0f}" if m in profile else "-" for m in marks)


def _report_header(machine: dict[str, Any], datasets: list[DataSet]) -> list[str]:
    lines = [
        f"date: {machine['date_utc']}; machine: {machine['cpus']} CPUs ({machine['cpu_model']}), "
        f"{machine['ram_gb']} GB RAM, load {machine['load_average_1m']:.1f}; "
        f"Python {machine['python']}, SQLite {machine['sqlite']}, "
        f"{machine['postgres'] or 'no PostgreSQL'}; "
        f"batch size {machine['batch_size']}; commit {machine['commit']}",
    ]
    for data in datasets:
        lines.append(
            f"data {data.name}: {data.path.name}, {data.records:,} records, "
            f"{data.bytes_on_disk / 1e6:,.1f} MB on disk, "
            f"{data.bytes_uncompressed / 1e6:,.1f} MB uncompressed"
        )
    return lines


def format_report(
    machine: dict[str, Any], datasets: list[DataSet], rows: list[dict[str, Any]]
) -> str:
    """The results as a markdown table headed by the machine and data description."""
    lines = _report_header(machine, datasets)
    lines += [
        "",
        "| data | database | phase | runs | papers/s median (min-max) | s (median) "
        "| peak RSS MB | RSS MB at 25/50/75/100% | database MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        size = row["database_mb"]
        lines.append(
            f"| {row['dataset']} ({row['records']:,}) | {row['database']} | {row['phase']} "
            f"| {row['runs']} | {row['papers_per_s_median']:,.0f} ({row['papers_per_s_min']:,.0f}"
            f"-{row['papers_per_s_max']:,.0f}) | {row['seconds_median']:,.1f} "
            f"| {row['peak_rss_mb']:,.0f} | {_profile_text(row['rss_at_progress_mb'])} "
            f"| {f'{size:,.1f}' if size is not None else ''} |"
        )
    return "\n".join(lines)


def write_json(
    path: Path,
    machine: dict[str, Any],
    datasets: list[DataSet],
    rows: list[dict[str, Any]],
    results: list[Measurement],
) -> None:
    """Everything measured, including each run, as JSON."""
    document = {
        "machine": machine,
        "datasets": [{**asdict(d), "path": str(d.path)} for d in datasets],
        "summary": rows,
        "runs": [{**asdict(item), "papers_per_s": item.papers_per_s} for item in results],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))


# ---------------------------------------------------------------- command line


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Options; --smoke means --count 2000 --runs 1 with the real file cut to 2,000 papers."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2_800_000, help="synthetic records")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=3, help="runs per data set and database")
    parser.add_argument("--source", choices=["real", "synthetic", "both"], default="both")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="synthetic corpus seed")
    parser.add_argument(
        "--real-limit", type=int, default=0, help="use only the first N real papers"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI (< 30 s)")
    parser.add_argument("--json-out", type=Path, help="default: bench/out/import_speed.json")
    args = parser.parse_args(argv)
    if args.smoke:
        args.count, args.runs, args.real_limit = SMOKE_COUNT, 1, SMOKE_COUNT
    if args.runs < 1 or args.count < 1 or args.real_limit < 0:
        parser.error("--runs and --count must be at least 1, --real-limit at least 0")
    if args.json_out is None:
        name = "import_speed-smoke.json" if args.smoke else "import_speed.json"
        args.json_out = OUT_DIR / name
    return args


@contextmanager
def postgres_server(wanted: bool) -> Iterator[PostgresServer | None]:
    """A running PostgreSQL server, or None (with a message) when not wanted or not installed."""
    bindir = find_pg_bindir() if wanted else None
    if wanted and bindir is None:
        print("PostgreSQL skipped: no initdb/pg_ctl found (install postgresql to measure it)")
    if bindir is None:
        yield None
        return
    server = PostgresServer(bindir, durable=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    """Prepare the data, run every import, print the table and write the JSON."""
    args = parse_args(argv)
    if not BASE_CORPUS.exists():
        print(f"skipped: {BASE_CORPUS} not found (the shared data; see ../shared/data/SOURCES.md)")
        return
    datasets = prepare_datasets(args)
    with postgres_server(args.db in ("postgres", "both")) as server:
        databases: list[Database] = [d for d in ("sqlite", "postgres") if args.db in (d, "both")]
        if server is None and "postgres" in databases:
            databases.remove("postgres")
        machine = machine_info(server)
        results = run_all(datasets, databases, args.runs, server)
    rows = summarize(results)
    print()
    print(format_report(machine, datasets, rows))
    write_json(args.json_out, machine, datasets, rows, results)
    print(f"\nwrote {args.json_out}")


if __name__ == "__main__":
    main()
