"""The keyword index (write side): a tantivy BM25 index of title and abstract, authors, categories.

One tantivy directory per version (see layout.py). `update_keyword_index` follows the papers
table by `modified_at`, so papers become searchable as soon as an import or harvest ends, and
the paper removals table, so an id that left the store (a re-keyed paper) leaves the index.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
import tantivy

from dailypapers.dates import parse_iso_datetime
from dailypapers.index.keys import paper_key
from dailypapers.index.layout import IndexLayout, read_json, write_json_atomic
from dailypapers.latex import latex_to_text
from dailypapers.store.changes import (
    IndexRow,
    Removal,
    changed_keys_since,
    changes_since,
    count_changed_papers,
    iter_changed_papers,
    list_removals,
    removals_since,
)

# A new format makes `update_keyword_index` build a new version (3: the unstemmed `words` field;
# 4: the `has` field, for has:code).
KEYWORD_FORMAT = 4
STATE_FILE = "dailypapers-state.json"
# Rows committed by another writer up to this long after a later-stamped batch are still seen.
WATERMARK_OVERLAP = timedelta(seconds=5)
COMMIT_EVERY_DOCS = 200_000
WRITER_HEAP_BYTES = 256_000_000
# A changed paper's old document is only marked deleted: tantivy still reads it in every
# posting list that holds it, and still counts it in the statistics BM25 weighs terms by,
# until its segment is merged. tantivy-py cannot ask for a merge or set the merge policy (its
# default merges segments of like size, whatever they hold deleted). So a live index whose
# deleted documents reach this share of all it holds, and at least COMPACT_DELETED_MIN, is
# rebuilt from the store by the next background sync (a web or job process's index keeper,
# `index build`, `index watch`), as a format change is; the share is Lucene's lowest allowed
# deletesPctAllowed. A command someone waits on (a search, an import) never does it. Papers
# changed in bulk leave that much (a re-import of changed records, a harvest's updates). So
# did every bulk import before syncs remembered their window (Known): the sync after it
# indexed the import's last 5 s again, and bench/web.py's store held 18,728 deleted
# documents beside its 74,728 papers. Rebuilt, that store answered hybrid and keyword
# searches with 8 % less CPU (BENCHMARKS.md).
COMPACT_DELETED_SHARE = 0.2
COMPACT_DELETED_MIN = 5_000
# The overlap window's changes are remembered (8 bytes each in the state file, as JSON
# numbers) up to this many: a bulk import's last 5 s are about 18,000.
WINDOW_KEYS_KEPT = 100_000

TEXT_ANALYZER = "paper_en"
WORDS_ANALYZER = "paper_words"
PERSON_ANALYZER = "person"
CATEGORY_ANALYZER = "category"

Progress = Callable[[int], None]

log = logging.getLogger(__name__)


# Words a free query word is dropped for: they say how something is asked, not what about.
# tantivy's "english" list is Lucene's 33 words, which keeps "how", "do", "I", "can", "my",
# "what", "from"...: a question ("how do I make my model forget less?") then ranked papers
# by those words too, and "several" was stemmed to "sever" and matched "severe". This is
# Snowball's English stop list (snowballstem.org, BSD), the one PostgreSQL and NLTK use, with
# the pieces the tokenizer makes of contractions ("don't" is "don", "t"), the modal verbs and
# a few connectives (whether, several, however...), less the words that carry meaning in
# paper titles: few (few-shot), out (out-of-
# distribution), up, down, off (trade-off), over, under, more, most, all, only, same, own,
# other, any, some, both, each, once, again, further, between, through, against, above,
# below, before, after, during. Measured in BENCHMARKS.md (keyword search).
QUERY_STOP_WORDS: tuple[str, ...] = tuple(
    """
    a an the and but if or because as until while of at by for with about into to from in on
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself
    she her hers herself it its itself they them their theirs themselves
    what which who whom whose this that these those here there when where why how
    am is are was were be been being have has had having do does did doing
    would should could ought can cannot will shall may might must
    no nor not so than too very just also then now such whether several many much however
    thus therefore yet either neither
    s t d ll m re ve don doesn didn isn aren wasn weren hasn haven hadn won wouldn shouldn
    couldn mustn shan
    """.split()
)


def _word_analyzer(*, stop_words: tuple[str, ...] = ()) -> tantivy.TextAnalyzer:
    builder = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
    )
    if stop_words:
        builder = builder.filter(tantivy.Filter.custom_stopword(list(stop_words)))
    return (
        builder.filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def words_analyzer() -> tantivy.TextAnalyzer:
    """Words as written: split on non-alphanumerics, lowercase, fold accents; no stemming, so
    a quoted "diffusion" does not match "diffuse"."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def text_analyzer() -> tantivy.TextAnalyzer:
    """Words: split on non-alphanumerics, fold accents, lowercase, English Snowball stems."""
    return _word_analyzer()


def query_word_analyzer(stop_words: tuple[str, ...] = QUERY_STOP_WORDS) -> tantivy.TextAnalyzer:
    """Free query words: as `text_analyzer`, without `stop_words` (they rank nothing).

    Only queries drop them, so the list can change without rebuilding the index.
    """
    return _word_analyzer(stop_words=stop_words)


def free_terms(
    words: tuple[str, ...], query_words: tantivy.TextAnalyzer, text: tantivy.TextAnalyzer
) -> list[str]:
    """The distinct index terms free query words are ranked by: their stems less the query
    stop words (`query_words`), or, for a query of stop words only, all their stems (`text`)."""
    tokens = [token for word in words for token in query_words.analyze(word)]
    if not tokens:
        tokens = [token for word in words for token in text.analyze(word)]
    return list(dict.fromkeys(tokens))


def person_analyzer() -> tantivy.TextAnalyzer:
    """Author names: words, lowercased, accents folded, not stemmed."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def category_analyzer() -> tantivy.TextAnalyzer:
    """Categories: the whole value, lowercased (`cs.LG` and `cs.lg` match)."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.raw())
        .filter(tantivy.Filter.lowercase())
        .build()
    )


def keyword_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("key", stored=False, indexed=True, fast=True)
    builder.add_text_field("paper_id", stored=True, tokenizer_name="raw")
    # `body` is the title then the abstract, stemmed, for BM25 ranking; `title` alone only adds
    # weight to title matches. `words` is the same text unstemmed, with positions: quoted
    # phrases and exclusions match it, so they mean the words as written.
    builder.add_text_field("title", tokenizer_name=TEXT_ANALYZER, index_option="freq")
    builder.add_text_field("body", tokenizer_name=TEXT_ANALYZER, index_option="freq")
    builder.add_text_field("words", tokenizer_name=WORDS_ANALYZER)
    builder.add_text_field("authors", tokenizer_name=PERSON_ANALYZER)
    builder.add_text_field("categories", tokenizer_name=CATEGORY_ANALYZER, index_option="basic")
    builder.add_date_field("published", indexed=True, fast=True)
    # What a paper has, as terms: "code" when it links its code (the has:code filter).
    builder.add_text_field("has", tokenizer_name="raw", index_option="basic")
    return builder.build()


def open_keyword_index(path: Path) -> tantivy.Index:
    """Open (or create) the tantivy index in `path` with our analyzers registered."""
    index = tantivy.Index(keyword_schema(), path=str(path), reuse=True)
    index.register_tokenizer(TEXT_ANALYZER, text_analyzer())
    index.register_tokenizer(WORDS_ANALYZER, words_analyzer())
    index.register_tokenizer(PERSON_ANALYZER, person_analyzer())
    index.register_tokenizer(CATEGORY_ANALYZER, category_analyzer())
    return index


def _document(row: IndexRow) -> tantivy.Document:
    document = tantivy.Document()
    document.add_unsigned("key", paper_key(row.paper_id))
    document.add_text("paper_id", row.paper_id)
    # LaTeX markup is not searchable text: \emph{x} is indexed as x, math as typed.
    title = latex_to_text(row.title)
    text = f"{title}\n{latex_to_text(row.abstract)}"
    document.add_text("title", title)
    document.add_text("body", text)
    document.add_text("words", text)  # the same text as `body`
    for author in row.authors:
        document.add_text("authors", author)
    for category in row.categories:
        document.add_text("categories", category)
    if row.published is not None:
        document.add_date("published", row.published)
    if row.has_code:
        document.add_text("has", "code")
    return document


def change_key(paper_id: str, modified_at: datetime) -> int:
    """One stored version of a paper (its id and modification time) as a 63-bit key."""
    return paper_key(f"{paper_id}\x00{modified_at.isoformat()}")


@dataclass(slots=True)
class KeywordState:
    """What a keyword index directory holds: its format and how far it follows the store."""

    watermark: datetime | None = None  # the newest paper change or removal read
    documents: int = 0
    # Papers changed and ids removed in the overlap window before the watermark at the last
    # sync, and whether that window was settled then (read more than the overlap after its
    # newest change, so every writer with an earlier timestamp had committed). See `is_current`.
    window_rows: int | None = None
    settled: bool = False
    window_removals: int | None = None
    # The changes of that window as they were indexed (`change_key`s), so that reading the
    # window again indexes only what changed since; None when not known (an older release's
    # state, or more than WINDOW_KEYS_KEPT of them).
    window_keys: frozenset[int] | None = None

    @classmethod
    def read(cls, directory: Path) -> KeywordState | None:
        data = read_json(directory / STATE_FILE)
        if not data or data.get("format") != KEYWORD_FORMAT:
            return None
        mark = data.get("watermark")
        window = data.get("window_rows")
        removals = data.get("window_removals")
        keys = data.get("window_keys")
        return cls(
            parse_iso_datetime(mark) if mark else None,
            int(data.get("documents", 0)),
            int(window) if window is not None else None,
            bool(data.get("settled", False)),
            int(removals) if removals is not None else None,
            frozenset(int(key) for key in keys) if keys is not None else None,
        )

    def write(self, directory: Path) -> None:
        mark = self.watermark.isoformat() if self.watermark else None
        data = {
            "format": KEYWORD_FORMAT,
            "watermark": mark,
            "documents": self.documents,
            "window_rows": self.window_rows,
            "settled": self.settled,
            "window_removals": self.window_removals,
            "window_keys": sorted(self.window_keys) if self.window_keys is not None else None,
        }
        write_json_atomic(directory / STATE_FILE, data)

    def is_current(self, engine: sa.Engine) -> bool:
        """True when the store has changed nothing since the last sync.

        The overlap window is re-read until a sync finds it settled; after that, only a change
        newer than the watermark (or a different number of papers in the window) means work.
        Without this every sync re-read the window, which after a bulk import is tens of
        thousands of papers, every time.
        """
        if self.watermark is None or self.window_rows is None or not self.settled:
            return False
        since = self.watermark - WATERMARK_OVERLAP
        count, newest = changes_since(engine, since=since)
        removed, newest_removal = removals_since(engine, since=since)
        return (
            count == self.window_rows
            and removed == self.window_removals
            and all(time is None or time <= self.watermark for time in (newest, newest_removal))
        )


@dataclass(frozen=True, slots=True)
class Segments:
    """What a tantivy index directory holds, as its meta.json says: segments, documents (the
    deleted ones included) and deleted documents."""

    count: int = 0
    documents: int = 0
    deleted: int = 0

    @classmethod
    def of(cls, directory: Path) -> Segments:
        meta = read_json(directory / "meta.json") or {}
        segments = meta.get("segments") or []
        deleted = [(s.get("deletes") or {}).get("num_deleted_docs", 0) for s in segments]
        documents = sum(int(s.get("max_doc", 0)) for s in segments)
        return cls(len(segments), documents, int(sum(deleted)))

    @property
    def worth_compacting(self) -> bool:
        """Whether enough deleted documents are held to rebuild (COMPACT_DELETED_SHARE)."""
        return (
            self.deleted >= COMPACT_DELETED_MIN
            and self.deleted >= COMPACT_DELETED_SHARE * self.documents
        )


class Follow(Protocol):
    """A writer the keyword index follows while it stores papers (an import)."""

    def finished(self) -> bool:
        """True once the writer has committed its last change."""

    def wait(self) -> None:
        """Block until the writer may have committed more (or a short while has passed)."""


def _apply_changes(
    engine: sa.Engine,
    directory: Path,
    state: KeywordState,
    *,
    fresh: bool,
    on_progress: Progress | None,
    follow: Follow | None = None,
    threads: int = 0,
) -> int:
    """Index the store's changes into `directory`, writing on `threads` threads (0: one per
    core, tantivy's default; each thread writes segments of its own)."""
    index = open_keyword_index(directory)
    writer = index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=threads)
    since = None if state.watermark is None else state.watermark - WATERMARK_OVERLAP
    pending = written = 0
    newest = state.watermark
    read_started = datetime.now(UTC)
    # Removals are read before changes: a paper stored again under a removed id after this
    # read is among the changes below, and tantivy adds it back after the delete.
    removals = list_removals(engine, since=since)
    if not fresh:
        _delete_removed(writer, removals)
    # (time, id) of the rows read within the overlap of the newest
    window: deque[tuple[datetime, str]] = deque()
    # The window read again: what was indexed then, as it was, is not indexed again.
    known = Known(state.window_keys or frozenset(), state.watermark)
    for batch in iter_changed_papers(engine, since=since):
        added = _add_rows(writer, batch, window, delete=not fresh, known=known)
        newest = batch[-1].modified_at
        pending += added
        written += added
        if on_progress:
            on_progress(len(batch))
        if pending >= COMMIT_EVERY_DOCS:
            state.settled = False
            _commit(writer, index, directory, state, newest)
            pending = 0
    if follow is not None:
        newest, more, read_started = _follow(
            engine, writer, window, removals, newest, follow, fresh=fresh
        )
        written += more
    if removals and (newest is None or removals[-1].removed_at > newest):
        newest = removals[-1].removed_at
    cutoff = newest - WATERMARK_OVERLAP if newest is not None else None
    recent = {(pid, time) for time, pid in window if cutoff is None or time >= cutoff}
    state.window_rows = len({pid for pid, _ in recent})
    state.window_keys = (
        frozenset(change_key(pid, time) for pid, time in recent)
        if len(recent) <= WINDOW_KEYS_KEPT
        else None
    )
    state.window_removals = sum(1 for r in removals if cutoff is None or r.removed_at >= cutoff)
    state.settled = newest is not None and read_started - newest > WATERMARK_OVERLAP
    _commit(writer, index, directory, state, newest)
    writer.wait_merging_threads()
    return written


@dataclass(frozen=True, slots=True)
class Known:
    """Changes indexed before (`change_key`s), none of them later than `until`."""

    keys: frozenset[int] = frozenset()
    until: datetime | None = None

    def __contains__(self, row: IndexRow) -> bool:
        return (
            bool(self.keys)
            and self.until is not None
            and row.modified_at <= self.until
            and change_key(row.paper_id, row.modified_at) in self.keys
        )


def _add_rows(
    writer: tantivy.IndexWriter,
    rows: list[IndexRow],
    window: deque[tuple[datetime, str]],
    *,
    delete: bool,
    removed: set[str] | None = None,
    known: Known | None = None,
) -> int:
    """Index `rows`, noting their times; returns how many were indexed. With `delete` each
    replaces its earlier document; with `removed` (ids that left the store) only a paper that
    may have one does: stored before this change, or under an id that was removed (and may be
    indexed still). A row `known` is indexed already, as it is now: it is only noted. Indexed
    again it would leave its old document behind, deleted (see COMPACT_DELETED_SHARE)."""
    added = 0
    for row in rows:
        if known is None or row not in known:
            if delete or (
                removed is not None and (not row.first_stored or row.paper_id in removed)
            ):
                writer.delete_documents_by_term("paper_id", row.paper_id)
            writer.add_document(_document(row))
            added += 1
        window.append((row.modified_at, row.paper_id))
        while window[0][0] < row.modified_at - WATERMARK_OVERLAP:
            window.popleft()
    return added


def _follow(
    engine: sa.Engine,
    writer: tantivy.IndexWriter,
    window: deque[tuple[datetime, str]],
    removals: list[Removal],
    newest: datetime | None,
    follow: Follow,
    *,
    fresh: bool,
) -> tuple[datetime | None, int, datetime]:
    """Index papers stored after `newest` as they are committed, until `follow.finished()`.

    Each pass reads only changes newer than the last one read (an import stamps its batches
    in order). At the end the overlap window before the newest change is read again only if
    it holds a change that was not read (a late commit of another writer): reading it again
    regardless would re-index seconds of a fast import. Returns the newest change read, how
    many papers were indexed and when the last read began.

    A fresh index holds only what this call added: a paper first stored after the first pass
    needs no delete before it is added (2.8 M deletes would cost more than they check).
    """
    written = 0
    # Ids removed since this call began reading (a fresh build indexed none it read before).
    removed: set[str] | None = set() if fresh else None
    while True:
        read_started = datetime.now(UTC)
        finished = follow.finished()  # asked first: the pass below sees every commit before it
        # Inclusive: a removal committed with the last changes read may have been missed.
        _note_removals(writer, removals, list_removals(engine, since=newest), removed)
        count = 0
        for batch in iter_changed_papers(engine, since=newest, inclusive=newest is None):
            count += _add_rows(writer, batch, window, delete=not fresh, removed=removed)
            newest = batch[-1].modified_at
        written += count
        if finished:
            break
        if count == 0:
            follow.wait()
    if newest is None:
        return newest, written, read_started
    since = newest - WATERMARK_OVERLAP
    _note_removals(writer, removals, list_removals(engine, since=since), removed)
    read = {(pid, time) for time, pid in window}
    if not read.issuperset(changed_keys_since(engine, since=since)):
        read_started = datetime.now(UTC)
        while window and window[-1][0] >= since:
            window.pop()  # read again below
        for batch in iter_changed_papers(engine, since=since):
            written += _add_rows(writer, batch, window, delete=True)
            newest = max(newest, batch[-1].modified_at)
    return newest, written, read_started


def _note_removals(
    writer: tantivy.IndexWriter,
    removals: list[Removal],
    found: list[Removal],
    removed: set[str] | None,
) -> None:
    """Delete the documents of removals not seen before, and note them."""
    seen = set(removals)
    new = [removal for removal in found if removal not in seen]
    _delete_removed(writer, new)
    removals.extend(new)
    if removed is not None:
        removed.update(removal.paper_id for removal in new)


def _delete_removed(writer: tantivy.IndexWriter, removals: list[Removal]) -> None:
    """Delete the documents of ids that left the store (unless a paper holds the id again)."""
    for removal in removals:
        if not removal.stored:
            writer.delete_documents_by_term("paper_id", removal.paper_id)


def _commit(
    writer: tantivy.IndexWriter,
    index: tantivy.Index,
    directory: Path,
    state: KeywordState,
    newest: datetime | None,
) -> None:
    writer.commit()
    index.reload()
    state.watermark = newest
    state.documents = index.searcher().num_docs
    state.write(directory)


def update_keyword_index(
    engine: sa.Engine,
    layout: IndexLayout,
    *,
    rebuild: bool = False,
    on_total: Callable[[int], None] | None = None,
    on_progress: Progress | None = None,
    follow: Follow | None = None,
    compact: bool = False,
) -> int:
    """Bring the keyword index up to date with the store; returns how many papers were (re)indexed.

    The caller holds the layout's writer lock. Without a live index, with `rebuild`, or (with
    `compact`: a background sync's choice, nobody waits on it) when the live index holds too
    many deleted documents (COMPACT_DELETED_SHARE), a new version is built from scratch and
    published only when complete. With `follow`, it goes on indexing what a running writer
    stores until that writer has finished.
    """
    live = layout.live("keyword")
    state = KeywordState.read(live) if live is not None else None
    compacting = False
    if compact and live is not None and state is not None and not rebuild:
        held = Segments.of(live)
        compacting = held.worth_compacting
        if compacting:
            log.info(
                "rebuilding the keyword index: %d of the %d documents it holds are deleted",
                held.deleted,
                held.documents,
            )
    if rebuild or compacting or live is None or state is None:
        directory = layout.new_version("keyword")
        fresh_state = KeywordState()
        if on_total:
            on_total(count_changed_papers(engine, since=None))
        written = _apply_changes(
            engine,
            directory,
            fresh_state,
            fresh=True,
            on_progress=on_progress,
            follow=follow,
            # Compacting a live site's index leaves the other core to the site, and makes
            # one segment where a thread per core makes one each.
            threads=1 if compacting else 0,
        )
        layout.publish("keyword", directory)
        return written
    if follow is None and state.is_current(engine):
        return 0
    if on_total:
        since = None if state.watermark is None else state.watermark - WATERMARK_OVERLAP
        on_total(count_changed_papers(engine, since=since))
    # A sync's few changes are written on one thread: one new segment, not one per core. A
    # sync following an import may be large, and keeps a thread per core.
    return _apply_changes(
        engine,
        live,
        state,
        fresh=False,
        on_progress=on_progress,
        follow=follow,
        threads=1 if follow is None else 0,
    )
