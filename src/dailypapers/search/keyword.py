"""Keyword search (read side): BM25 over the tantivy index, with phrases, exclusions, filters.

Free words are stemmed (`graphs` finds `graph`). Quoted phrases and exclusions (`-video`,
`-"text to speech"`) match the words as written, case and accents folded: `"diffusion"` does
not find `diffuse`, and `-video` leaves out papers saying "video", not those saying "videos".
An exclusion that dropped every word sharing a stem would hide papers nobody asked to hide,
unseen (`-diffusion` would drop "diffuse scattering"); one that misses a plural shows in the
results and is one more `-videos` away.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import tantivy

from dailypapers.index.keys import key_positions
from dailypapers.index.keyword import (
    category_analyzer,
    free_terms,
    open_keyword_index,
    person_analyzer,
    query_word_analyzer,
    text_analyzer,
    words_analyzer,
)
from dailypapers.search.features import MatchScores
from dailypapers.search.query import Filters, ParsedQuery

# Title matches count this much more than abstract matches (tuned on SciFact train).
TITLE_BOOST = 0.1
# The learned ranker looks at this many pairs of adjacent query words (phrases) at most.
MAX_PAIRS = 8
# Clauses one search can tell apart by score: tantivy scores are float32 (24-bit mantissa).
_MASK_BITS = 24
# A clause of the ranker's evidence that may match more papers than this is searched on its
# own among the candidates, not with the others (KeywordSearcher._matched). In a shared search
# tantivy's union reads a clause's postings around every candidate: at 2.8 M papers, queries
# with common words ("model" is in 2.3 M abstracts) took up to 90 ms there (p99) against 43 ms
# with those words apart. No word of the 74,728 real papers' index is that common.
DENSE_POSTINGS = 200_000
# Up to this many paper keys are found by one term lookup each, beyond by a term set (_key_set),
# or up to one key per KEYS_LOOKED_UP_PER_DOCUMENTS papers in the index where that is more.
KEY_LOOKUPS_MAX = 512
KEYS_LOOKED_UP_PER_DOCUMENTS = 1_000
# The papers a restriction (filters, phrases, exclusions) admits are kept while the index is
# unchanged, as Lucene's query cache keeps its filters' documents: a filtered semantic search
# then checks its neighbours against them, a binary search each, instead of searching the
# index for a few hundred keys (6-7 ms at 74,728 papers, against under 0.1 ms). Restrictions
# admitting up to EXACT_FILTER_CAP papers are listed whole anyway and kept at once. A larger
# one (up to ADMITTED_KEPT_MAX) is listed once it has been asked for as many times as listing
# it costs checks, as one buys skis after renting them for what they cost (never paying more
# than twice the best choice made knowing the future): one check per PAPERS_PER_CHECK papers
# it admits (cs.CV, 38,422 papers: 20 ms to list, about three checks). At most
# ADMITTED_KEYS_KEPT keys in all (8 bytes each), the least recently used restriction dropped
# first.
ADMITTED_KEPT_MAX = 200_000
PAPERS_PER_CHECK = 15_000
ADMITTED_KEYS_KEPT = 1_000_000
# Restrictions counted as asked for, not kept yet (forgotten all together beyond this many).
RESTRICTIONS_COUNTED = 4_096
# tantivy keeps dates as 64-bit nanoseconds (1677 to 2262); a date filter beyond is brought
# inside, which changes nothing: no paper is dated there.
EARLIEST_DATE = datetime(1678, 1, 1, tzinfo=UTC)
LATEST_DATE = datetime(2262, 1, 1, tzinfo=UTC)

_MUST = tantivy.Occur.Must
_SHOULD = tantivy.Occur.Should
_MUST_NOT = tantivy.Occur.MustNot


@dataclass(frozen=True, slots=True)
class KeyHits:
    """A keyword search's best matches as (key, BM25 score), best first, and where each one is
    in the index as that search saw it (valid until the searcher reloads)."""

    scored: list[tuple[int, float]]
    addresses: dict[int, tantivy.DocAddress]


@dataclass(frozen=True, slots=True)
class KeywordHit:
    paper_id: str
    key: int
    score: float


class KeywordSearcher:
    """Runs parsed queries against one keyword index directory."""

    def __init__(self, directory: Path, *, title_boost: float = TITLE_BOOST) -> None:
        self.directory = directory
        self.title_boost = title_boost
        self._index = open_keyword_index(directory)
        self._schema = self._index.schema
        self.query_words = query_word_analyzer()  # replaceable, to compare stop lists
        self.dense_postings = DENSE_POSTINGS  # see _matched
        self._text = text_analyzer()
        self._exact = words_analyzer()
        self._person = person_analyzer()
        self._category = category_analyzer()
        self._searcher = self._index.searcher()
        # Restriction -> keys it admits, ascending (see ADMITTED_KEPT_MAX); how many times the
        # restrictions not kept yet were asked for. Both describe one searcher's view: a
        # reload forgets them.
        self._admitted: OrderedDict[Restriction, np.ndarray] = OrderedDict()
        self._asked: dict[Restriction, int] = {}

    def reload(self) -> None:
        """See commits made since the index was opened."""
        self._index.reload()
        self._searcher = self._index.searcher()
        self._admitted.clear()
        self._asked.clear()

    @property
    def documents(self) -> int:
        return int(self._searcher.num_docs)

    def _term(self, field: str, token: str) -> tantivy.Query:
        return tantivy.Query.term_query(self._schema, field, token, index_option="freq")

    def _phrase(self, field: str, tokens: list[str]) -> tantivy.Query:
        if len(tokens) == 1:
            return self._term(field, tokens[0])
        words: list[str | tuple[int, str]] = list(tokens)
        return tantivy.Query.phrase_query(self._schema, field, words)

    def _exact_phrase(self, text: str) -> tantivy.Query | None:
        """The words of `text` as written, in order, in the title or abstract."""
        tokens = self._exact.analyze(text)
        if not tokens:
            return None
        return self._phrase("words", tokens)

    def query_terms(self, words: tuple[str, ...]) -> list[str]:
        """The distinct index terms that the free words are ranked by."""
        return free_terms(words, self.query_words, self._text)

    def _ranked_words(self, words: tuple[str, ...]) -> list[tantivy.Query]:
        clauses: list[tantivy.Query] = []
        for token in self.query_terms(words):
            clauses.append(self._term("body", token))
            if self.title_boost:
                title = self._term("title", token)
                clauses.append(tantivy.Query.boost_query(title, self.title_boost))
        return clauses

    def filter_clauses(self, filters: Filters) -> list[tuple[tantivy.Occur, tantivy.Query]]:
        """Required clauses for the filters (empty when there are none)."""
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for author in filters.authors:
            tokens = self._person.analyze(author)
            if tokens:
                clauses.append((_MUST, self._phrase("authors", tokens)))
        if filters.categories:
            values = [self._category.analyze(c)[0] for c in filters.categories if c.strip()]
            clauses.append(
                (_MUST, tantivy.Query.term_set_query(self._schema, "categories", values))
            )
        if filters.published_from or filters.published_until:
            dates = tantivy.Query.range_query(
                self._schema,
                "published",
                tantivy.FieldType.Date,
                _inside_index_dates(filters.published_from),
                _inside_index_dates(filters.published_until),
                include_upper=filters.published_until is None,
            )
            clauses.append((_MUST, dates))
        if filters.has_code:
            clauses.append((_MUST, tantivy.Query.term_query(self._schema, "has", "code")))
        return clauses

    def restriction_clauses(self, query: ParsedQuery) -> list[tuple[tantivy.Occur, tantivy.Query]]:
        """Filters, required phrases and exclusions: what every search mode must respect."""
        clauses = self.filter_clauses(query.filters)
        for phrase in query.phrases:
            required = self._exact_phrase(phrase)
            if required is not None:
                clauses.append((_MUST, required))
        for text in query.excluded:
            excluded = self._exact_phrase(text)
            if excluded is not None:
                clauses.append((_MUST_NOT, excluded))
        return clauses

    def build_query(self, query: ParsedQuery) -> tantivy.Query:
        clauses = self.restriction_clauses(query)
        ranked = self._ranked_words(query.words)
        if ranked:
            either = tantivy.Query.boolean_query([(_SHOULD, clause) for clause in ranked])
            if not clauses:
                # The words alone: their union is the whole query (it matches where one word
                # does). tantivy skips postings that cannot reach the top only in a union of
                # terms at the top of the query, not through a boolean around it: at 2.8 M
                # papers this form is 3-4 ms faster at the median, with the same scores.
                return either
            # Quoted phrases already restrict the matches; otherwise at least one word must match.
            clauses.append((_SHOULD if query.phrases else _MUST, either))
        if not any(occur != _MUST_NOT for occur, _ in clauses):
            clauses.append((_MUST, tantivy.Query.all_query()))
        return tantivy.Query.boolean_query(clauses)

    def search(
        self, query: ParsedQuery, *, limit: int, offset: int = 0
    ) -> tuple[list[KeywordHit], int]:
        """The best `limit` hits after `offset`, and how many papers match in all."""
        result = self._searcher.search(
            self.build_query(query), limit=limit, offset=offset, count=True
        )
        return self._hits(result.hits), int(result.count or 0)  # type: ignore[attr-defined]

    def count_published(self, query: ParsedQuery | None, bounds: list[datetime]) -> list[int]:
        """How many papers matching `query` (every paper when None) were published in each
        [bounds[i], bounds[i + 1]): one pass over the matches (a range aggregation)."""
        target = tantivy.Query.all_query() if query is None else self.build_query(query)
        ranges = [
            {"key": str(i), "from": _nanoseconds(start), "to": _nanoseconds(end)}
            for i, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False))
        ]
        spec = {"periods": {"range": {"field": "published", "ranges": ranges}}}
        buckets = self._searcher.aggregate(target, spec)["periods"]["buckets"]
        counted = {bucket["key"]: int(bucket["doc_count"]) for bucket in buckets}
        return [counted.get(str(i), 0) for i in range(len(ranges))]

    def search_keys(self, query: ParsedQuery, *, limit: int) -> KeyHits:
        """The best `limit` matches by key, without reading stored documents."""
        result = self._searcher.search(self.build_query(query), limit=limit, count=False)
        addresses = [address for _, address in result.hits]
        values = self._searcher.fast_field_values("key", addresses) if addresses else []
        keys = [int(key or 0) for key in values]
        pairs = [(key, float(score)) for (score, _), key in zip(result.hits, keys, strict=True)]
        return KeyHits(
            sorted(pairs, key=_by_score_then_key), dict(zip(keys, addresses, strict=True))
        )

    def _hits(self, hits: list[tuple[float, tantivy.DocAddress]]) -> list[KeywordHit]:
        addresses = [address for _, address in hits]
        keys = self._searcher.fast_field_values("key", addresses) if addresses else []
        found = zip(hits, keys, strict=True)
        ordered = sorted(
            ((int(key or 0), float(score), address) for (score, address), key in found),
            key=_by_score_then_key,
        )
        return [
            KeywordHit(self._searcher.doc(address)["paper_id"][0], key, score)
            for key, score, address in ordered
        ]

    def _restricted(self, query: ParsedQuery) -> tantivy.Query:
        clauses = self.restriction_clauses(query)
        if not any(occur != _MUST_NOT for occur, _ in clauses):
            clauses.append((_MUST, tantivy.Query.all_query()))
        return tantivy.Query.boolean_query(clauses)

    def matching_keys(self, query: ParsedQuery, *, cap: int) -> tuple[np.ndarray | None, int]:
        """Keys of every paper the query's restrictions admit, ascending (None when more than
        `cap` do), and how many papers they admit."""
        restriction = _restriction(query)
        kept = self._kept(restriction)
        if kept is not None:
            return (kept if len(kept) <= cap else None), len(kept)
        restricted = self._restricted(query)
        counted = self._searcher.search(restricted, limit=1, count=True)
        total = int(counted.count or 0)  # type: ignore[attr-defined]
        if total > cap and not self._worth_listing(restriction, total):
            return None, total
        result = self._searcher.search(restricted, limit=max(1, total), count=False)
        addresses = [address for _, address in result.hits]
        values = self._searcher.fast_field_values("key", addresses) if addresses else []
        keys = np.unique(np.asarray(values, dtype=np.uint64))
        self._keep(restriction, keys)
        return (keys if total <= cap else None), total

    def _worth_listing(self, restriction: Restriction, total: int) -> bool:
        """Counts this ask; whether the restriction's papers should be listed and kept now."""
        if total > ADMITTED_KEPT_MAX:
            return False
        asked = self._asked.get(restriction, 0) + 1
        if asked >= math.ceil(total / PAPERS_PER_CHECK):
            return True
        if len(self._asked) >= RESTRICTIONS_COUNTED:
            self._asked.clear()
        self._asked[restriction] = asked
        return False

    def _kept(self, restriction: Restriction) -> np.ndarray | None:
        kept = self._admitted.get(restriction)
        if kept is not None:
            self._admitted.move_to_end(restriction)
        return kept

    def _keep(self, restriction: Restriction, keys: np.ndarray) -> None:
        self._asked.pop(restriction, None)
        self._admitted[restriction] = keys
        while self.kept_keys > ADMITTED_KEYS_KEPT and len(self._admitted) > 1:
            self._admitted.popitem(last=False)

    @property
    def kept_keys(self) -> int:
        """How many keys the kept restrictions hold (8 bytes each)."""
        return sum(len(keys) for keys in self._admitted.values())

    def admitted(self, query: ParsedQuery, keys: np.ndarray) -> np.ndarray:
        """A mask over `keys`: which papers the query's restrictions admit."""
        keys = np.asarray(keys, np.uint64)
        kept = self._kept(_restriction(query))
        if kept is not None:
            return key_positions(keys, kept)[0]
        restricted = tantivy.Query.boolean_query(
            [(_MUST, self._restricted(query)), (_MUST, self._key_set([int(k) for k in keys]))]
        )
        result = self._searcher.search(restricted, limit=max(1, len(keys)), count=False)
        addresses = [address for _, address in result.hits]
        found = self._searcher.fast_field_values("key", addresses) if addresses else []
        return np.isin(keys, np.asarray(found, np.uint64))

    def search_within(
        self, query: ParsedQuery, keys: list[int], *, limit: int
    ) -> list[tuple[int, float]]:
        """(key, BM25 score) of the best matches of `query` among the papers with `keys`."""
        if not keys:
            return []
        within = tantivy.Query.boolean_query(
            [(_MUST, self.build_query(query)), (_MUST, self._key_set(keys))]
        )
        result = self._searcher.search(within, limit=limit, count=False)
        addresses = [address for _, address in result.hits]
        found = self._searcher.fast_field_values("key", addresses) if addresses else []
        return [
            (int(key or 0), float(score))
            for key, (score, _) in zip(found, result.hits, strict=True)
        ]

    def match_scores(self, query: ParsedQuery, keys: list[int]) -> MatchScores:
        """Which of the query's words each paper with `keys` has (rows in `keys` order): free
        terms in the title or abstract and in the title alone, words in author names, pairs
        of adjacent words as a phrase. Evidence for the learned ranker."""
        terms = self.query_terms(query.words)
        total = max(1, self.documents)
        named = {
            name: self._searcher.doc_freq("authors", name)
            for name in dict.fromkeys(t for word in query.words for t in self._person.analyze(word))
        }
        names = [name for name, count in named.items() if count > 0]
        pairs = self._word_pairs(query.words)[:MAX_PAIRS]
        body_counts = [self._searcher.doc_freq("body", t) for t in terms]
        clauses = (
            [self._term("body", t) for t in terms]
            + [self._term("title", t) for t in terms]
            + [self._term("authors", n) for n in names]
            + [self._phrase("words", pair) for pair in pairs]
        )
        # How many papers each clause could match at most (a phrase: its rarest word's).
        postings = (
            body_counts
            + [self._searcher.doc_freq("title", t) for t in terms]
            + [named[n] for n in names]
            + [min(self._searcher.doc_freq("words", w) for w in pair) for pair in pairs]
        )
        matched = self._matched(clauses, postings, keys)
        split = np.cumsum([len(terms), len(terms), len(names)])
        body, title, authors, phrases = np.split(matched, split, axis=1)
        return MatchScores(
            body=body,
            title=title,
            idf=np.array([_idf(count, total) for count in body_counts]),
            authors=authors,
            author_idf=np.array([_idf(named[n], total) for n in names]),
            phrases=phrases,
        )

    def _matched(
        self, clauses: list[tantivy.Query], postings: list[int], keys: list[int]
    ) -> np.ndarray:
        """(keys x clauses) booleans: does the paper match the clause.

        Clauses share searches, up to 24 in one: clause i scores 2^i whatever BM25 says, so a
        paper's score is the bit mask of the clauses it matches (exact in tantivy's float32).
        Restricting a search to the candidates is what costs, so it is done once per 24. A
        clause that may match more than `dense_postings` papers is searched on its own: inside
        a shared search tantivy reads its postings around every candidate.
        """
        matched = np.zeros((len(keys), len(clauses)), dtype=bool)
        if not keys or not clauses:
            return matched
        within = tantivy.Query.const_score_query(self._key_set(keys), 0.0)
        row_of = {key: row for row, key in enumerate(keys)}
        shared = [i for i, count in enumerate(postings) if count <= self.dense_postings]
        for start in range(0, len(shared), _MASK_BITS):
            chunk = shared[start : start + _MASK_BITS]
            either = [
                (_SHOULD, tantivy.Query.const_score_query(clauses[column], float(1 << bit)))
                for bit, column in enumerate(chunk)
            ]
            query = tantivy.Query.boolean_query([(_MUST, within), *either])
            hits = self._searcher.search(query, limit=len(keys), count=False).hits
            if not hits:
                continue
            rows = self._rows_of(hits, row_of)
            masks = np.rint([score for score, _ in hits]).astype(np.int64)
            bits = (masks[:, None] >> np.arange(len(chunk))) & 1
            matched[np.ix_(rows, chunk)] = bits.astype(bool)
        for column, count in enumerate(postings):
            if count <= self.dense_postings:
                continue
            query = tantivy.Query.boolean_query([(_MUST, within), (_MUST, clauses[column])])
            hits = self._searcher.search(query, limit=len(keys), count=False).hits
            if hits:
                matched[self._rows_of(hits, row_of), column] = True
        return matched

    def _rows_of(
        self, hits: list[tuple[float, tantivy.DocAddress]], row_of: dict[int, int]
    ) -> list[int]:
        """The candidates' rows of the papers found, in hit order."""
        found = self._searcher.fast_field_values("key", [address for _, address in hits])
        return [row_of[int(key or 0)] for key in found]

    def _word_pairs(self, words: tuple[str, ...]) -> list[list[str]]:
        """Adjacent words of the query, as written, neither of them a stop word."""
        tokens = [token for word in words for token in self._exact.analyze(word)]
        ranked = [bool(self.query_words.analyze(token)) for token in tokens]
        pairs = {
            (tokens[i], tokens[i + 1])
            for i in range(len(tokens) - 1)
            if ranked[i] and ranked[i + 1]
        }
        return [list(pair) for pair in sorted(pairs)]

    def paper_ids_for(self, keys: list[int], *, found: KeyHits | None = None) -> dict[int, str]:
        """The paper id of each indexed key. Keys that `found` (a search_keys answer of this
        same search) holds are read where it found them; the rest are looked up."""
        known = found.addresses if found is not None else {}
        located = {key: known[key] for key in keys if key in known}
        rest = [key for key in keys if key not in located]
        if rest:
            result = self._searcher.search(self._key_set(rest), limit=len(rest), count=False)
            addresses = [address for _, address in result.hits]
            values = self._searcher.fast_field_values("key", addresses) if addresses else []
            located.update(zip((int(key or 0) for key in values), addresses, strict=True))
        return {key: self._searcher.doc(address)["paper_id"][0] for key, address in located.items()}

    def _key_set(self, keys: list[int]) -> tantivy.Query:
        """The papers with `keys`. A few hundred keys, or a few thousand in a large index, are
        looked up one by one: tantivy's term set query walks the key field's term dictionary,
        a cost that grows with the index. Over 74,728 papers it took 2.6 ms for 200 keys
        against 0.6 ms for the lookups, and the lookups won up to about 1,000 keys (4,000: 12
        against 22 ms); over 2.8 M papers the walk alone is about 22 ms, and the lookups won up
        to about 3,000 keys (1,000 keys: 10 against 25 ms; 4,000: 44 against 33 ms)."""
        lookups_max = max(KEY_LOOKUPS_MAX, self.documents // KEYS_LOOKED_UP_PER_DOCUMENTS)
        if len(keys) > lookups_max:
            return tantivy.Query.term_set_query(self._schema, "key", keys)
        return tantivy.Query.boolean_query(
            [(_SHOULD, tantivy.Query.term_query(self._schema, "key", key)) for key in keys]
        )


Restriction = tuple[Filters, tuple[str, ...], tuple[str, ...]]


def _restriction(query: ParsedQuery) -> Restriction:
    """What decides which papers a query admits, whatever its free words."""
    return (query.filters, query.phrases, query.excluded)


def _idf(documents_with_term: int, documents: int) -> float:
    """BM25's inverse document frequency, as tantivy computes it."""
    return math.log(1 + (documents - documents_with_term + 0.5) / (documents_with_term + 0.5))


def _inside_index_dates(bound: datetime | None) -> datetime | None:
    return None if bound is None else min(max(bound, EARLIEST_DATE), LATEST_DATE)


def _nanoseconds(moment: datetime) -> float:
    """A date as tantivy's range aggregation takes it (nanoseconds, exact for whole seconds)."""
    clamped = min(max(moment, EARLIEST_DATE), LATEST_DATE)
    return int(clamped.timestamp()) * 1e9


def _by_score_then_key(hit: tuple[Any, ...]) -> tuple[float, int]:
    """Best score first; equal scores by paper key. tantivy breaks ties by where a document
    sits in the index, so two nodes holding the same papers (or one node before and after a
    rebuild) could otherwise list equal matches in different orders."""
    return (-hit[1], hit[0])
