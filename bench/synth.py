"""A synthetic arXiv-scale corpus in the Cornell snapshot format, grown from real cs papers.

Each synthetic record is derived from one of the 74,728 real papers in
`../shared/data/arxiv-cs-2025/` (cycling through them): real authors and categories, the real
abstract with a few words swapped, a title with a few words replaced from a vocabulary of real
title words, and a new-style arXiv id spread over 0704..2607 (4-digit numbers before 2015,
5-digit after, as arXiv does) that never collides with a real id. Output is deterministic for
a seed and streamed, so memory stays flat whatever the count.

    python -m bench.synth --count 2800000 --out bench/out/synthetic-2800000.jsonl
"""

from __future__ import annotations

import argparse
import gzip
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import orjson

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"
BASE_CORPUS = DATA_DIR / "arxiv-cs-2025" / "arxiv-cs-2025-03_2026-07.jsonl.gz"
DEFAULT_SEED = 2026
FIRST_MONTH = (2007, 4)
LAST_MONTH = (2026, 7)
CORPUS_END = datetime(2026, 7, 31, 23, 59, 59, tzinfo=UTC)
# arXiv's monthly submissions grew from about 4,500 (2007) to about 28,000 (2026).
FIRST_MONTH_WEIGHT = 4_500
LAST_MONTH_WEIGHT = 28_000
MAX_RECORDS = 5_000_000

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_VOCAB_WORD = re.compile(r"[A-Za-z]{4,}")
_LICENSES = (
    ("http://arxiv.org/licenses/nonexclusive-distrib/1.0/", 60),
    ("http://creativecommons.org/licenses/by/4.0/", 25),
    ("http://creativecommons.org/licenses/by-nc-sa/4.0/", 5),
    ("http://creativecommons.org/licenses/by-sa/4.0/", 3),
    ("http://creativecommons.org/licenses/by-nc-nd/4.0/", 4),
    ("http://creativecommons.org/publicdomain/zero/1.0/", 3),
)
_JOURNALS = (
    ("Phys.Rev.D", "10.1103/PhysRevD"),
    ("J. Mach. Learn. Res.", "10.5555/jmlr"),
    ("IEEE Trans. Pattern Anal. Mach. Intell.", "10.1109/TPAMI"),
    ("Commun. Math. Phys.", "10.1007/s00220"),
    ("Astrophys. J.", "10.3847/1538-4357"),
    ("Nature Commun.", "10.1038/s41467"),
    ("Proc. AAAI", "10.1609/aaai"),
    ("ACM Trans. Graph.", "10.1145/tog"),
)


@dataclass(frozen=True, slots=True)
class BasePaper:
    """The parts of one real paper that synthetic records reuse, pre-formatted once."""

    title_tokens: tuple[str, ...]
    abstract: str
    authors: str
    authors_parsed: tuple[tuple[str, str, str], ...]
    submitter: str
    categories: str
    comment: str | None


@dataclass(frozen=True, slots=True)
class BaseCorpus:
    """The real papers, their ids (to avoid) and the title vocabulary used for mutations."""

    papers: list[BasePaper]
    real_ids: frozenset[str]
    vocabulary: list[str]


def _split_name(name: str) -> tuple[str, str, str]:
    parts = name.split()
    if len(parts) < 2:
        return (name, "", "")
    return (parts[-1], " ".join(parts[:-1]), "")


def _base_paper(line: dict[str, Any]) -> BasePaper:
    names = [" ".join(str(n).split()) for n in line.get("authors") or () if str(n).strip()]
    joined = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)
    return BasePaper(
        title_tokens=tuple(str(line["title"]).split()),
        abstract=str(line.get("summary") or "").strip(),
        authors=joined,
        authors_parsed=tuple(_split_name(n) for n in names),
        submitter=names[0] if names else "Anonymous",
        categories=" ".join(line.get("categories") or ()),
        comment=line.get("comment") or None,
    )


def load_base_corpus(path: Path = BASE_CORPUS) -> BaseCorpus:
    """Read the real listing file once: papers, their ids and a title-word vocabulary."""
    papers: list[BasePaper] = []
    ids: set[str] = set()
    words: dict[str, str] = {}
    with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as stream:
        for raw in stream:
            line = orjson.loads(raw)
            ids.add(str(line["id"]))
            paper = _base_paper(line)
            papers.append(paper)
            for token in paper.title_tokens:
                if _VOCAB_WORD.fullmatch(token):
                    words.setdefault(token.lower(), token.lower())
    return BaseCorpus(papers, frozenset(ids), sorted(words))


def _months() -> list[tuple[int, int]]:
    year, month = FIRST_MONTH
    months = []
    while (year, month) <= LAST_MONTH:
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _capacity(year: int) -> int:
    # Ids had 4 digits after the dot until December 2014, 5 from January 2015.
    return 9_999 if year < 2015 else 99_999


def month_counts(total: int) -> list[tuple[int, int, int]]:
    """(year, month, records) for each month, growing linearly like arXiv, summing to `total`."""
    if not 0 <= total <= MAX_RECORDS:
        raise ValueError(f"count must be between 0 and {MAX_RECORDS:,}, not {total:,}")
    months = _months()
    step = (LAST_MONTH_WEIGHT - FIRST_MONTH_WEIGHT) / (len(months) - 1)
    weights = [FIRST_MONTH_WEIGHT + step * i for i in range(len(months))]
    scale = total / sum(weights)
    counts = [min(int(w * scale), _capacity(y)) for w, (y, _m) in zip(weights, months, strict=True)]
    spare = total - sum(counts)
    index = len(months) - 1
    while spare > 0:  # rounding leftovers go to the newest months, which have room
        extra = min(spare, _capacity(months[index][0]) // 2 - counts[index])
        if extra > 0:
            counts[index] += extra
            spare -= extra
        index = index - 1 if index > 0 else len(months) - 1
    return [(y, m, n) for (y, m), n in zip(months, counts, strict=True)]


def iter_ids(total: int, real_ids: frozenset[str]) -> Iterator[tuple[str, int, int]]:
    """(arXiv id, year, month) for `total` unique synthetic ids in id order, none of them real."""
    for year, month, count in month_counts(total):
        prefix = f"{year % 100:02d}{month:02d}."
        width = 4 if year < 2015 else 5
        number = 0
        for _ in range(count):
            number += 1
            while f"{prefix}{number:0{width}d}" in real_ids:
                number += 1
            yield f"{prefix}{number:0{width}d}", year, month


def rfc2822(moment: datetime) -> str:
    """The snapshot's version date format: 'Mon, 2 Apr 2007 19:18:42 GMT'."""
    return (
        f"{_WEEKDAYS[moment.weekday()]}, {moment.day} {_MONTHS[moment.month - 1]} "
        f"{moment.year} {moment:%H:%M:%S} GMT"
    )


class RecordMaker:
    """Turns (id, real paper, cycle) into one snapshot record; all randomness is seeded."""

    def __init__(self, corpus: BaseCorpus, seed: int) -> None:
        self.corpus = corpus
        self.rng = random.Random(seed)
        self.licenses = [name for name, _w in _LICENSES]
        self.license_weights = [weight for _name, weight in _LICENSES]

    def title(self, base_index: int, cycle: int) -> str:
        """The real title with words replaced; distinct for every cycle of one real paper.

        The word at a position fixed per paper is replaced by a vocabulary word that depends on
        the cycle, so two variants of one paper always differ there; other edits avoid it.
        """
        tokens = list(self.corpus.papers[base_index].title_tokens) or ["Untitled"]
        vocab = self.corpus.vocabulary
        fixed = (base_index * 7919) % len(tokens)
        tokens[fixed] = self._cased(vocab[(base_index * 31 + cycle) % len(vocab)], tokens[fixed])
        others = [i for i in range(len(tokens)) if i != fixed]
        if others and self.rng.random() < 0.5:
            spot = self.rng.choice(others)
            tokens[spot] = self._cased(self.rng.choice(vocab), tokens[spot])
        swappable = [i for i in others if i + 1 in others]
        if swappable and self.rng.random() < 0.3:
            spot = self.rng.choice(swappable)
            tokens[spot], tokens[spot + 1] = tokens[spot + 1], tokens[spot]
        return " ".join(tokens)

    @staticmethod
    def _cased(word: str, like: str) -> str:
        return word.capitalize() if like[:1].isupper() else word

    def abstract(self, text: str) -> str:
        """The real abstract (hard line wraps kept) with three pairs of words swapped."""
        shuffled = text.split(" ")
        size, draw = len(shuffled), self.rng.random
        if size > 2:
            for _ in range(3):
                a, b = int(draw() * size), int(draw() * size)
                shuffled[a], shuffled[b] = shuffled[b], shuffled[a]
        return "  " + " ".join(shuffled) + "\n"

    def versions(self, year: int, month: int) -> list[datetime]:
        """1-3 version dates: v1 inside the id's month, later ones after it, none past 2026-07."""
        first = datetime(year, month, self.rng.randint(1, 28), tzinfo=UTC) + timedelta(
            seconds=self.rng.randrange(86_400)
        )
        dates = [first]
        for _ in range(self.rng.choices((0, 1, 2), (60, 28, 12))[0]):
            later = dates[-1] + timedelta(
                days=self.rng.randint(3, 400), seconds=self.rng.randrange(86_400)
            )
            if later > CORPUS_END:
                break
            dates.append(later)
        return dates

    def extras(self, paper_id: str, year: int, comment: str | None) -> dict[str, str | None]:
        """comments (~50%), journal-ref (~20%), doi (~20%), report-no (~8%), license."""
        rng = self.rng
        if comment is None and rng.random() < 0.05:
            comment = f"{rng.randint(4, 40)} pages, {rng.randint(1, 12)} figures"
        published = rng.random() < 0.22
        journal, prefix = rng.choice(_JOURNALS)
        volume, page = rng.randint(1, 120), rng.randint(1, 99_999)
        number = paper_id.replace(".", "")
        return {
            "comments": comment,
            "journal-ref": f"{journal} {volume} ({year + 1}) {page}" if published else None,
            "doi": f"{prefix}.{year + 1}.{number}" if published and rng.random() < 0.9 else None,
            "report-no": f"REPORT-{year}-{rng.randint(1, 999):03d}"
            if rng.random() < 0.08
            else None,
            "license": None
            if year < 2009 and rng.random() < 0.9
            else rng.choices(self.licenses, self.license_weights)[0],
        }

    def record(self, index: int, paper_id: str, year: int, month: int) -> dict[str, Any]:
        """The snapshot record number `index` (0-based) with the given id."""
        base_index, cycle = index % len(self.corpus.papers), index // len(self.corpus.papers)
        base = self.corpus.papers[base_index]
        dates = self.versions(year, month)
        extras = self.extras(paper_id, year, base.comment)
        return {
            "id": paper_id,
            "submitter": base.submitter,
            "authors": base.authors,
            "title": self.title(base_index, cycle),
            "comments": extras["comments"],
            "journal-ref": extras["journal-ref"],
            "doi": extras["doi"],
            "report-no": extras["report-no"],
            "categories": base.categories,
            "license": extras["license"],
            "abstract": self.abstract(base.abstract),
            "versions": [
                {"version": f"v{n}", "created": rfc2822(d)} for n, d in enumerate(dates, start=1)
            ],
            "update_date": f"{dates[-1]:%Y-%m-%d}",
            "authors_parsed": [list(parts) for parts in base.authors_parsed],
        }


def iter_records(count: int, corpus: BaseCorpus, seed: int = DEFAULT_SEED) -> Iterator[bytes]:
    """`count` snapshot lines (JSON, newline-terminated), in id order."""
    maker = RecordMaker(corpus, seed)
    for index, (paper_id, year, month) in enumerate(iter_ids(count, corpus.real_ids)):
        yield orjson.dumps(
            maker.record(index, paper_id, year, month), option=orjson.OPT_APPEND_NEWLINE
        )


def _open_output(path: Path, *, compress: bool) -> gzip.GzipFile | BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        # Level 1: compression must not dominate generating 2.8 M records.
        return gzip.open(path, "wb", compresslevel=1)
    return path.open("wb", buffering=1 << 20)


def write_corpus(
    path: Path,
    count: int,
    *,
    seed: int = DEFAULT_SEED,
    base: Path = BASE_CORPUS,
    verbose: bool = True,
) -> int:
    """Write `count` synthetic records to `path` (gzip if it ends in .gz); returns bytes written."""
    loading = time.perf_counter()
    corpus = load_base_corpus(base)
    started = time.perf_counter()
    if verbose:
        words, seconds = len(corpus.vocabulary), started - loading
        print(f"base: {len(corpus.papers):,} real papers, {words:,} title words ({seconds:.1f} s)")
    partial = path.with_name(path.name + ".partial")
    written = 0
    with _open_output(partial, compress=path.suffix == ".gz") as out:
        for index, line in enumerate(iter_records(count, corpus, seed), start=1):
            out.write(line)
            written += len(line)
            if verbose and index % 250_000 == 0:
                _print_rate(index, started)
    partial.replace(path)  # a cached corpus is either complete or absent
    if verbose:
        _print_rate(count, started)
    return written


def _print_rate(done: int, started: float) -> None:
    elapsed = time.perf_counter() - started
    print(
        f"{done:>10,} records  {elapsed:7.1f} s  {done / max(elapsed, 1e-9):>9,.0f} records/s",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    """Command line: generate a corpus file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--count", type=int, required=True, help="number of records")
    parser.add_argument("--out", type=Path, required=True, help="output file (.jsonl or .jsonl.gz)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--base", type=Path, default=BASE_CORPUS, help="real listing JSON lines")
    args = parser.parse_args(argv)
    if not args.base.exists():
        parser.exit(
            2, f"error: base corpus {args.base} not found (see ../shared/data/SOURCES.md)\n"
        )
    size = write_corpus(args.out, args.count, seed=args.seed, base=args.base)
    print(f"wrote {args.out} ({size / 1e6:,.1f} MB uncompressed)")


if __name__ == "__main__":
    main()
