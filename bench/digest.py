"""Digest throughput: build and send the email digests of 10,000 subscribers to a local SMTP sink.

Setup (not timed in the figures): the last `--papers` real papers of ../shared/data/arxiv-cs-2025
are imported by `dailypapers import` (its own process; it builds the keyword index). The file
has no dates and no upvotes, so list days are SIMULATED as in bench/web.py: papers, in import
order, are spread evenly over the `--days` weekdays ending on DAY, with seeded heavy-tailed
upvotes (score and hotness to match). Then `--subscribers` confirmed subscriptions are stored
with `save_subscription` and `confirm_subscription`, each with a seeded mix of preferences:
daily or weekly, trending, a few arXiv categories, saved searches from a pool of 50 real queries.

Each measured run copies that data directory (so the outbox starts empty) and runs in a fresh
interpreter (multiprocessing "spawn"), beside an SMTP sink in a second one on 127.0.0.1 that
counts what it accepts. The sink is a few lines of asyncio, not aiosmtpd: aiosmtpd reads DATA a
line at a time and spends about 1.4 ms of CPU on each 22 KB digest (this sink: 0.15 ms), which
on two cores would be counted against the sender. Two variants, interleaved in every repeat:

- `run`: `run_digests(day=DAY)`, what cron runs (index sync, build, send), timed as one call;
- `phases`: the same steps called one by one, so building and sending are timed apart.

Each is followed by a second `run_digests`, which must send nothing. Memory is the process's
VmHWM and its RSS sampled every 0.2 s against the digests in the outbox and the messages the
sink has received so far. CPU seconds of the sender are printed beside the wall time: other
jobs on a shared machine disturb them less.

    python -m bench.digest                     # 10,000 subscribers, 3 repeats
    python -m bench.digest --subscribers 2000 --repeats 1
    python -m bench.digest --quick             # tiny, for CI: 300 subscribers, 1 repeat
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import multiprocessing as mp
import multiprocessing.connection as mpc
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from tests.ports import free_port

from bench.synth import BASE_CORPUS
from bench.web import simulated_upvotes, weekdays
from dailypapers.config import Settings, load_settings
from dailypapers.digest.periods import digest_period
from dailypapers.digest.service import build_digests, deliver_due, run_digests
from dailypapers.index.build import sync_keyword_index
from dailypapers.ranking.hotness import hotness, listed_at
from dailypapers.search.recommend import Recommender
from dailypapers.search.service import Searcher
from dailypapers.store.engine import open_store
from dailypapers.store.lists import list_window_papers
from dailypapers.store.schema import outbox, papers
from dailypapers.store.subscriptions import Preferences, confirm_subscription, save_subscription

OUT_DIR = Path(__file__).resolve().parent / "out"
DAY = date(2026, 7, 1)  # a Wednesday, the last day the real listings cover
SEED = 2026
GOAL_S = 120.0  # the issue: 10,000 digests built and sent in under 2 minutes
SAMPLE_INTERVAL_S = 0.2
MESSAGE_MARKS = (10, 50, 100)
VARIANTS = ("run", "phases")
QUICK = {"subscribers": 300, "repeats": 1}
# (category, weight): what readers of a cs listing would pick, the big four most often.
CATEGORIES = (
    ("cs.CL", 20), ("cs.CV", 20), ("cs.LG", 15), ("cs.AI", 15), ("cs.RO", 6), ("cs.IR", 5),
    ("cs.CR", 4), ("cs.HC", 3), ("cs.GR", 3), ("cs.MA", 3), ("eess.AS", 2), ("stat.ML", 2),
    ("cs.SE", 2),
)  # fmt: skip
# Saved searches, most popular first (drawn with Zipf-like weights): words, phrases,
# exclusions, author: and cat: filters, as readers type them.
QUERIES = (
    '"large language model" reasoning', "diffusion -video", "retrieval augmented generation",
    "agents tool use", '"reinforcement learning" robot', '"vision-language" benchmark',
    "gaussian splatting", "hallucination detection", '"chain-of-thought"', "mixture of experts",
    "speech recognition", "medical image segmentation", '"multi-agent" llm', "jailbreak attack",
    "knowledge distillation", '"world model"', '"video generation"', '"text-to-image"',
    "autonomous driving", "quantization llm", '"in-context learning"', '"long context"',
    "reward model alignment", '"direct preference optimization"', "code generation",
    "machine translation", '"question answering" cat:cs.CL', "segmentation cat:cs.CV",
    "transformer cat:cs.LG", '"speculative decoding"', '"state space model"', "image editing",
    "point cloud", "depth estimation", "sparse attention", '"federated learning"',
    '"graph neural network"', "watermarking", "protein", "auction mechanism",
    '"channel estimation"', "uncertainty calibration", '"optimal transport"', "fairness bias",
    "recommendation", '"mechanistic interpretability"', "embodied navigation",
    "adversarial robustness -certified", 'author:"Yang Liu"', 'author:"Pengfei Wan"',
)  # fmt: skip


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data and subscribers


def _cpu_s() -> float:
    times = os.times()
    return times.user + times.system


def write_newest_papers(target: Path, count: int) -> int:
    """The last `count` lines of the real listings (the newest papers) into `target`."""
    with gzip.open(BASE_CORPUS, "rb") as source:
        newest = deque(source, maxlen=count)
    target.write_bytes(b"".join(newest))
    return len(newest)


def import_papers(home: Path, source: Path) -> dict[str, Any]:
    """`dailypapers import --json` in its own process; its summary."""
    command = [sys.executable, "-m", "dailypapers", "--home", str(home), "import", str(source)]
    done = subprocess.run([*command, "--json"], capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"import exited with {done.returncode}: {done.stderr.decode()[-2000:]}")
    summary: dict[str, Any] = orjson.loads(done.stdout)
    return summary


def simulate_list_days(engine: sa.Engine, *, day_count: int, seed: int) -> dict[str, Any]:
    """Spread the papers (in import order) over the `day_count` weekdays ending on DAY, with
    simulated upvotes, score and hotness; `modified_at` stays, so the indexes see no change."""
    days = weekdays(DAY - timedelta(days=2 * day_count + 7), DAY)[-day_count:]
    rng = random.Random(seed)
    columns = [papers.c.paper_id, papers.c.local_votes, papers.c.published, papers.c.created_at]
    with engine.begin() as conn:
        rows = conn.execute(sa.select(*columns).order_by(sa.text("papers.rowid"))).all()
        updates = []
        for number, (paper_id, local_votes, published, created_at) in enumerate(rows):
            day = days[number * len(days) // len(rows)]
            upvotes = simulated_upvotes(rng)
            score = upvotes + local_votes
            at = listed_at(day, published, created_at)
            updates.append(
                {"key": paper_id, "day": day, "upvotes": upvotes, "score": score}
                | {"hotness": hotness(score, at)}
            )
        values: dict[str, Any] = {n: sa.bindparam(n) for n in ("upvotes", "score", "hotness")}
        values |= {"daily_date": sa.bindparam("day"), "list_date": sa.bindparam("day")}
        statement = papers.update().where(papers.c.paper_id == sa.bindparam("key"))
        conn.execute(statement.values(values), updates)
    return {"papers": len(rows), "first_day": str(days[0]), "last_day": str(days[-1])}


def random_preferences(rng: random.Random) -> Preferences:
    """One subscriber's choices; everyone asks for at least one section."""
    names, weights = zip(*CATEGORIES, strict=True)
    categories: list[str] = []
    if rng.random() < 0.55:
        categories = sorted(set(rng.choices(names, weights, k=rng.choice((1, 1, 2, 3)))))
    searches: list[str] = []
    if rng.random() < 0.5:
        query_weights = [1 / (rank + 1) ** 0.8 for rank in range(len(QUERIES))]
        wanted = rng.choice((1, 1, 2, 3))
        searches = list(dict.fromkeys(rng.choices(QUERIES, query_weights, k=wanted)))
    trending = rng.random() < 0.55 or not (categories or searches)
    return Preferences(
        frequency="weekly" if rng.random() < 0.2 else "daily",
        skip_weekends=rng.random() < 0.25,
        include_trending=trending,
        categories=tuple(categories),
        searches=tuple(searches),
    )


def create_subscribers(engine: sa.Engine, *, count: int, seed: int) -> dict[str, Any]:
    """`count` confirmed subscriptions through the store's own functions; their mix."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    mix: Counter[str] = Counter()
    queries: set[str] = set()
    for number in range(count):
        preferences = random_preferences(rng)
        subscription, _ = save_subscription(
            engine, email=f"reader{number:05d}@example.org", preferences=preferences, now=now
        )
        confirm_subscription(engine, subscription_id=subscription.subscription_id, now=now)
        mix["weekly"] += preferences.frequency == "weekly"
        mix["trending"] += preferences.include_trending
        mix["categories"] += bool(preferences.categories)
        mix["searches"] += bool(preferences.searches)
        queries.update(preferences.searches)
    shares = {name: round(100 * mix[name] / max(count, 1)) for name in sorted(mix)}
    return {"subscribers": count, "share_percent": shares, "distinct_searches": len(queries)}


def describe_windows(engine: sa.Engine, settings: Settings) -> dict[str, Any]:
    """Papers in the daily and weekly windows on DAY, and how many saved searches match."""
    searcher = Searcher(engine, settings)
    recommender = Recommender(engine, settings, searcher)
    found: dict[str, Any] = {}
    for frequency in ("daily", "weekly"):
        period = digest_period(frequency, DAY, lookback_days=settings.digest_lookback_days)
        window = list_window_papers(
            engine, first_day=period.first_list_day, last_day=period.last_list_day
        )
        matching = sum(bool(recommender.search_matches(window, [q])) for q in QUERIES)
        found[frequency] = {"window_papers": len(window), "queries_with_matches": matching}
    return found


def prepare_base(work: Path, args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """The data directory every run copies: real papers, simulated days, the subscribers."""
    home = work / "base"
    source = work / "papers.jsonl"
    records = write_newest_papers(source, args.papers)
    started = time.perf_counter()
    summary = import_papers(home, source)
    import_s = time.perf_counter() - started
    settings = load_settings({}, home=home)
    engine = open_store(settings)
    try:
        simulation = simulate_list_days(engine, day_count=args.days, seed=SEED)
        started = time.perf_counter()
        subscribers = create_subscribers(engine, count=args.subscribers, seed=SEED)
        subscribe_s = time.perf_counter() - started
        windows = describe_windows(engine, settings)
    finally:
        engine.dispose()
    data = {
        "records": records,
        "imported": summary.get("imported"),
        "list_days": simulation,
        "windows": windows,
        **subscribers,
        "setup_s": {"import": round(import_s, 1), "subscriptions": round(subscribe_s, 1)},
    }
    return home, data


# ---------------------------------------------------------------- the SMTP sink process


class SinkTally:
    """What the sink accepted, in memory shared with the parent: messages, bytes, recipients
    seen more than once, and (at the end) the sink's CPU time in ms."""

    def __init__(self, counts: Any) -> None:
        self.counts = counts
        self.recipients: set[str] = set()

    def note(self, recipients: list[str], size: int) -> None:
        repeated = sum(address in self.recipients for address in recipients)
        self.recipients.update(recipients)
        with self.counts.get_lock():
            self.counts[0] += 1
            self.counts[1] += size
            self.counts[2] += repeated


class SinkProtocol(asyncio.Protocol):
    """Just enough SMTP for smtplib; DATA is read in whole chunks up to the final dot."""

    REPLIES = {b"EHLO": b"250 sink", b"HELO": b"250 sink", b"MAIL": b"250 OK",
               b"RSET": b"250 OK", b"NOOP": b"250 OK"}  # fmt: skip

    def __init__(self, tally: SinkTally) -> None:
        self.tally = tally
        self.buffer = bytearray()
        self.recipients: list[str] = []
        self.in_data = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    return
                self.tally.note(self.recipients, end + 2)
                del self.buffer[: end + 5]
                self.in_data, self.recipients = False, []
                self.transport.write(b"250 2.0.0 queued\r\n")
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return
            line = bytes(self.buffer[:end])
            del self.buffer[: end + 2]
            self.transport.write(self.reply(line) + b"\r\n")

    def reply(self, line: bytes) -> bytes:
        verb = line[:4].upper()
        if verb == b"RCPT":
            self.recipients.append(line.partition(b"<")[2].partition(b">")[0].decode())
            return b"250 OK"
        if verb == b"DATA":
            self.in_data = True
            self.buffer[:0] = b"\r\n"  # so an empty message still ends at "\r\n.\r\n"
            return b"354 end with <CRLF>.<CRLF>"
        if verb == b"QUIT" and self.transport is not None:
            self.transport.write(b"221 bye\r\n")
            self.transport.close()
            self.transport = None
            return b""
        return self.REPLIES.get(verb, b"502 not implemented")


async def _serve(port: int, tally: SinkTally, ready: Any, stop: Any) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SinkProtocol(tally), "127.0.0.1", port)
    ready.set()
    await loop.run_in_executor(None, stop.wait)
    server.close()
    await server.wait_closed()


def serve_sink(port: int, counts: Any, ready: Any, stop: Any) -> None:
    """The sink process: listen on 127.0.0.1:`port` until `stop` is set."""
    cpu_at_start = _cpu_s()  # not the interpreter's start-up and imports
    asyncio.run(_serve(port, SinkTally(counts), ready, stop))
    counts[3] = int(1000 * (_cpu_s() - cpu_at_start))


# ---------------------------------------------------------------- the measured process


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(key + ":"))


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class RssSampler(threading.Thread):
    """Samples (RSS MB, digests in the outbox, messages the sink has received) until stopped."""

    def __init__(self, counts: Any, database: str) -> None:
        super().__init__(daemon=True)
        self.counts = counts
        self.database = database
        self.samples: list[tuple[float, int, int]] = [(_rss_mb(), 0, 0)]
        self._done = threading.Event()

    def run(self) -> None:
        # Its own read-only connection: in WAL mode a reader does not hold up the writer.
        conn = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)
        try:
            while not self._done.wait(SAMPLE_INTERVAL_S):
                self.note(conn)
            self.note(conn)
        finally:
            conn.close()

    def note(self, conn: sqlite3.Connection) -> None:
        (built,) = conn.execute(f"SELECT count(*) FROM {outbox.name}").fetchone()
        self.samples.append((_rss_mb(), int(built), int(self.counts[0])))

    def stop(self) -> None:
        self._done.set()
        self.join()

    def profile(self, built: int, sent: int) -> dict[str, float | None]:
        """RSS at the start and when 10/50/100% of the digests were built and then sent."""
        found: dict[str, float | None] = {"start": self.samples[0][0]}
        for name, column, total in (("built", 1, built), ("sent", 2, sent)):
            for mark in MESSAGE_MARKS:
                wanted = max(1, -(-mark * total // 100))
                hits = (sample[0] for sample in self.samples if sample[column] >= wanted)
                found[f"{name} {mark}%"] = next(hits, None) if total else None
        return {name: None if mb is None else round(mb, 1) for name, mb in found.items()}


def _settings(home: Path, port: int) -> Settings:
    return load_settings(
        {},
        home=home,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        public_url="https://papers.example.org",
        mail_from="Daily Papers <digest@papers.example.org>",
    )


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def measure(job: dict[str, Any], counts: Any, results: mpc.Connection) -> None:
    """The measured process: one variant over a fresh copy of the data, then a rerun."""
    settings = _settings(Path(job["home"]), job["port"])
    engine = open_store(settings)
    sampler = RssSampler(counts, str(sa.make_url(settings.resolved_database_url).database))
    sampler.start()
    cpu_started = _cpu_s()
    if job["variant"] == "run":
        report, total_s = _timed(lambda: run_digests(engine, settings, day=DAY))
        build, delivery = report.build, report.delivery
        phase_s: dict[str, float] = {}
    else:
        now = datetime.now(UTC)
        _, sync_s = _timed(lambda: sync_keyword_index(engine, settings))
        build, build_s = _timed(lambda: build_digests(engine, settings, day=DAY, now=now))
        delivery, send_s = _timed(lambda: deliver_due(engine, settings))
        phase_s = {"sync": sync_s, "build": build_s, "send": send_s}
        total_s = sync_s + build_s + send_s
    cpu_s = _cpu_s() - cpu_started
    sampler.stop()
    # VmHWM, not getrusage: Linux carries the parent's high-water mark into a forked child.
    peak_mb = _status_kb("VmHWM") / 1024
    received = int(counts[0])
    rerun = run_digests(engine, settings, day=DAY)
    engine.dispose()
    assert delivery is not None and rerun.delivery is not None
    results.send(
        {
            "variant": job["variant"],
            "repeat": job["repeat"],
            "seconds": total_s,
            "phase_s": phase_s,
            "cpu_s": cpu_s,
            "built": build.built,
            "empty": build.empty,
            "not_due": build.not_due,
            "sent": delivery.sent,
            "failed": delivery.failed + delivery.retried + delivery.cancelled,
            "errors": delivery.errors[:3],
            "received": received,
            "rerun_built": rerun.build.built,
            "rerun_sent": rerun.delivery.sent,
            "peak_rss_mb": round(peak_mb, 1),
            "rss_mb": sampler.profile(build.built + build.empty, delivery.sent),
        }
    )


def measure_once(base: Path, work: Path, variant: str, repeat: int) -> dict[str, Any]:
    """One variant on a fresh copy of the base directory, with its own sink process."""
    home = work / f"{variant}-{repeat}"
    shutil.copytree(base, home)
    context = mp.get_context("spawn")
    counts = context.Array("q", 4)  # messages, bytes, recipients seen before, sink CPU ms
    ready, stop = context.Event(), context.Event()
    port = free_port()
    sink = context.Process(target=serve_sink, args=(port, counts, ready, stop), daemon=True)
    sink.start()
    try:
        if not ready.wait(30):
            raise RuntimeError("the SMTP sink did not start within 30 s")
        receive, send = context.Pipe(duplex=False)
        job = {"home": str(home), "port": port, "variant": variant, "repeat": repeat}
        runner = context.Process(target=measure, args=(job, counts, send))
        runner.start()
        send.close()
        result: dict[str, Any] = {}
        with suppress(EOFError):  # the process died: its traceback is on stderr
            result = receive.recv()
        runner.join()
        if runner.exitcode != 0 or not result:
            raise RuntimeError(f"the measured process exited with {runner.exitcode}")
    finally:
        stop.set()
        sink.join(10)
        shutil.rmtree(home, ignore_errors=True)
    result |= {"sink_total": int(counts[0]), "sink_bytes": int(counts[1])}
    result |= {"sink_repeats": int(counts[2]), "sink_cpu_s": counts[3] / 1000}
    return result


# ---------------------------------------------------------------- report


def machine_info() -> dict[str, Any]:
    """The machine, software versions and date, printed with every result."""
    cpu, memory_kb = "unknown", 0
    with suppress(OSError), open("/proc/cpuinfo") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if "model name" in line), cpu)
    with suppress(OSError), open("/proc/meminfo") as info:
        memory_kb = int(next(line.split()[1] for line in info if line.startswith("MemTotal")))
    command = ["git", "describe", "--always", "--dirty", "--abbrev=7"]
    root = Path(__file__).resolve().parents[1]
    commit = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    return {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": len(os.sched_getaffinity(0)),
        "cpu_model": cpu,
        "ram_gb": round(memory_kb / 1024**2, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load_average_1m": os.getloadavg()[0],
        "commit": commit.stdout.strip() or "unknown",
    }


def check_run(run: dict[str, Any]) -> list[str]:
    """What is wrong with a run: lost, failed or repeated messages."""
    problems = []
    if not run["sent"] == run["received"] == run["built"] == run["sink_total"]:
        problems.append(
            f"built {run['built']}, sent {run['sent']}, sink received {run['received']} "
            f"({run['sink_total']} in all)"
        )
    if run["failed"]:
        problems.append(f"{run['failed']} messages not delivered: {run['errors']}")
    if run["rerun_sent"] or run["rerun_built"] or run["sink_repeats"]:
        problems.append(
            f"rerun built {run['rerun_built']} and sent {run['rerun_sent']}; "
            f"{run['sink_repeats']} recipients got a second message"
        )
    return problems


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians per variant (and per phase for `phases`)."""
    summary: dict[str, Any] = {}
    for variant in VARIANTS:
        rows = [run for run in runs if run["variant"] == variant]
        if not rows:
            continue
        seconds = [run["seconds"] for run in rows]
        summary[variant] = {
            "runs": len(rows),
            "seconds_median": statistics.median(seconds),
            "seconds_min": min(seconds),
            "seconds_max": max(seconds),
            "messages_per_s_median": statistics.median(r["sent"] / r["seconds"] for r in rows),
            "cpu_s_median": statistics.median(run["cpu_s"] for run in rows),
            "peak_rss_mb_max": max(run["peak_rss_mb"] for run in rows),
        }
        if variant == "phases":
            for phase in ("sync", "build", "send"):
                median = statistics.median(run["phase_s"][phase] for run in rows)
                summary[variant][f"{phase}_s_median"] = median
            rate = statistics.median(r["sent"] / r["phase_s"]["send"] for r in rows)
            summary[variant]["send_messages_per_s_median"] = rate
    return summary


def _rss_text(profile: dict[str, float | None]) -> str:
    text = ["-" if mb is None else f"{mb:.0f}" for mb in profile.values()]
    return f"{text[0]}; {' / '.join(text[1:4])}; {' / '.join(text[4:])}"


def _header(machine: dict[str, Any], data: dict[str, Any]) -> list[str]:
    shares = ", ".join(f"{name} {share}%" for name, share in data["share_percent"].items())
    days, windows = data["list_days"], data["windows"]
    return [
        f"date: {machine['date_utc']}; machine: {machine['cpus']} CPUs ({machine['cpu_model']}), "
        f"{machine['ram_gb']} GB RAM, load {machine['load_average_1m']:.1f} at start, "
        f"{machine['load_average_1m_end']:.1f} at end; "
        f"{machine['platform']}; Python {machine['python']}, SQLite {machine['sqlite']}; "
        f"commit {machine['commit']}",
        f"data: {data['imported']:,} real papers (the newest {data['records']:,} lines of "
        f"{BASE_CORPUS.name}) on {days['first_day']}..{days['last_day']} (simulated weekday "
        f"list days); digest day {DAY}: daily window {windows['daily']['window_papers']:,} "
        f"papers, weekly {windows['weekly']['window_papers']:,}",
        f"subscribers: {data['subscribers']:,} active ({shares}); {data['distinct_searches']} "
        f"distinct saved searches, {windows['daily']['queries_with_matches']} of "
        f"{len(QUERIES)} match in the daily window; setup (not timed below): import "
        f"{data['setup_s']['import']} s, subscriptions {data['setup_s']['subscriptions']} s",
    ]


def format_report(result: dict[str, Any]) -> str:
    """Every run as a markdown table, then the medians and the goal."""
    lines = [*_header(result["machine"], result["data"]), ""]
    lines += [
        "| variant | repeat | total s | sync / build / send s | digests sent | empty | msg/s "
        "| CPU s sender / sink | sink received | rerun sent | peak RSS MB "
        "| RSS MB at start; built 10/50/100%; sent 10/50/100% |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        phase_s = run["phase_s"]
        phases = " / ".join(f"{phase_s[p]:.1f}" for p in ("sync", "build", "send") if p in phase_s)
        lines.append(
            f"| {run['variant']} | {run['repeat']} | {run['seconds']:.1f} "
            f"| {phases or '-'} | {run['sent']:,} | {run['empty']:,} "
            f"| {run['sent'] / run['seconds']:,.0f} | {run['cpu_s']:.1f} / {run['sink_cpu_s']:.1f} "
            f"| {run['received']:,} | {run['rerun_sent']} "
            f"| {run['peak_rss_mb']:.0f} | {_rss_text(run['rss_mb'])} |"
        )
    lines.append("")
    summary = result["summary"]
    if "run" in summary:
        row = summary["run"]
        lines.append(
            f"run_digests: median {row['seconds_median']:.1f} s (min {row['seconds_min']:.1f}, "
            f"max {row['seconds_max']:.1f}, {row['runs']} runs), "
            f"{row['messages_per_s_median']:,.0f} messages/s, sender CPU {row['cpu_s_median']:.1f} "
            f"s, peak RSS {row['peak_rss_mb_max']:.0f} MB"
        )
    if "phases" in summary:
        row = summary["phases"]
        lines.append(
            f"phases: median sync {row['sync_s_median']:.1f} s, build {row['build_s_median']:.1f}"
            f" s, send {row['send_s_median']:.1f} s ({row['send_messages_per_s_median']:,.0f} "
            f"messages/s while sending), sender CPU {row['cpu_s_median']:.1f} s"
        )
    lines.append(f"checks: {'; '.join(result['problems']) or 'all passed'}")
    if result["quick"]:
        lines.append("quick run: the goal applies to 10,000 subscribers only")
    elif "run" in summary:
        median = summary["run"]["seconds_median"]
        verdict = "met" if median < GOAL_S else "MISSED"
        lines.append(f"goal 10,000 digests < {GOAL_S:.0f} s: {verdict} ({median:.1f} s)")
    return "\n".join(lines)


# ---------------------------------------------------------------- command line


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Options; --quick means 300 subscribers and 1 repeat."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each variant")
    parser.add_argument("--papers", type=int, default=6_000, help="newest real papers imported")
    parser.add_argument("--days", type=int, default=10, help="weekdays the papers are spread on")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--quick", action="store_true", help="tiny run for CI (about 30 s)")
    parser.add_argument("--json-out", type=Path, help="default: bench/out/digest.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.subscribers, args.repeats = QUICK["subscribers"], QUICK["repeats"]
    if min(args.subscribers, args.repeats, args.papers, args.days) < 1:
        parser.error("--subscribers, --repeats, --papers and --days must be at least 1")
    if args.json_out is None:
        args.json_out = OUT_DIR / ("digest-quick.json" if args.quick else "digest.json")
    return args


def main(argv: list[str] | None = None) -> int:
    """Prepare the data, measure every run, print the report and write the JSON."""
    args = parse_args(argv)
    if not BASE_CORPUS.exists():
        print(f"skipped: {BASE_CORPUS} not found (the shared data; see ../shared/data/SOURCES.md)")
        return 0
    machine = machine_info()
    with tempfile.TemporaryDirectory(prefix="dailypapers-digest-") as scratch:
        work = Path(scratch)
        _log(f"setup: {args.papers:,} papers, {args.subscribers:,} subscribers")
        base, data = prepare_base(work, args)
        _log(f"setup done: {data['setup_s']}")
        runs = []
        for repeat in range(1, args.repeats + 1):
            for variant in args.variants:
                run = measure_once(base, work, variant, repeat)
                _log(f"{variant} {repeat}: {run['seconds']:.1f} s, {run['sent']:,} sent")
                runs.append(run)
    machine["load_average_1m_end"] = os.getloadavg()[0]
    problems = [f"{r['variant']} {r['repeat']}: {p}" for r in runs for p in check_run(r)]
    result = {
        "quick": args.quick,
        "machine": machine,
        "data": data,
        "runs": runs,
        "summary": summarize(runs),
        "problems": problems,
    }
    print(format_report(result))
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(f"\nwrote {args.json_out}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
