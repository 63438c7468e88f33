"""Select the papers of one subscriber's digest: from authors they follow, For you, saved
searches, categories, trending; and, when the reader chose it, their unread notifications.

A selector serves one period: it reads that period's listed papers once and caches what every
subscriber shares (the trending order, each saved search's matches, each category's papers),
so building many digests costs one pass over the subscribers.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice

import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.digest.periods import DigestPeriod
from dailypapers.models import Paper
from dailypapers.search.recommend import Recommender
from dailypapers.search.service import Searcher
from dailypapers.store.follows import followed, papers_by_authors
from dailypapers.store.lists import list_window_papers
from dailypapers.store.notifications import notifications_to_email
from dailypapers.store.papers import get_papers
from dailypapers.store.subscriptions import Subscription

PAPER_CACHE_ENTRIES = 5000
CATEGORY_CACHE_ENTRIES = 512
# A digest accounts for at most this many notifications (the newest): it lists the first
# `digest_section_papers` and counts the rest; older ones wait for the next digest.
NOTIFICATIONS_PER_DIGEST = 100


@dataclass(slots=True, frozen=True)
class DigestItem:
    paper: Paper
    reason: str | None = None


@dataclass(slots=True, frozen=True)
class DigestSection:
    title: str
    items: list[DigestItem]


@dataclass(slots=True, frozen=True)
class DigestNotice:
    text: str
    path: str  # on the site


@dataclass(slots=True, frozen=True)
class DigestNotices:
    """The notifications section: those listed, how many more are only counted, and every
    notification the digest accounts for (marked emailed when it is stored)."""

    items: list[DigestNotice]
    more: int
    notification_ids: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.items) + self.more


class DigestSelector:
    """Picks each subscriber's papers for one period."""

    def __init__(
        self,
        engine: sa.Engine,
        settings: Settings,
        period: DigestPeriod,
        searcher: Searcher | None,
    ) -> None:
        self.engine = engine
        self.period = period
        self.per_section = settings.digest_section_papers
        self.window = list_window_papers(
            engine, first_day=period.first_list_day, last_day=period.last_list_day
        )
        self._recommender = Recommender(engine, settings, searcher) if searcher else None
        self._search_cache: dict[str, list[str]] = {}
        self._category_cache: dict[frozenset[str], list[str]] = {}
        self._papers: OrderedDict[str, Paper] = OrderedDict()

    def sections(self, subscription: Subscription, already_sent: set[str]) -> list[DigestSection]:
        """The digest's sections, each paper in at most one, none sent to them before."""
        prefs = subscription.preferences
        taken = set(already_sent)
        chosen: list[tuple[str, list[tuple[str, str | None]]]] = []

        def add(title: str, picks: Iterable[tuple[str, str | None]]) -> None:
            fresh = list(islice(((p, why) for p, why in picks if p not in taken), self.per_section))
            taken.update(pid for pid, _ in fresh)
            if fresh:
                chosen.append((title, fresh))

        if subscription.user_id is not None:
            add("From authors you follow", self._by_followed_authors(subscription.user_id))
        if prefs.include_for_you and subscription.user_id is not None and self._recommender:
            found = self._recommender.recommend(
                user_id=subscription.user_id,
                candidates=self.window,
                limit=self.per_section,
                categories=prefs.categories,
                exclude=frozenset(taken),
            )
            add("For you", [(p.paper_id, p.reason) for p in found.picks])
        for text in prefs.searches:
            add(f"Saved search: {text}", ((pid, None) for pid in self._matches(text)))
        if prefs.categories:
            in_categories = self._in_categories(prefs.categories)
            add("In " + ", ".join(prefs.categories), ((pid, None) for pid in in_categories))
        if prefs.include_trending:
            add("Trending", ((p.paper_id, None) for p in self.window))
        papers = self._load([pid for _, picks in chosen for pid, _ in picks])
        return [
            DigestSection(
                title, [DigestItem(papers[pid], why) for pid, why in picks if pid in papers]
            )
            for title, picks in chosen
        ]

    def notices(
        self, subscription: Subscription, sections: Sequence[DigestSection], already_sent: set[str]
    ) -> DigestNotices | None:
        """The reader's unread notifications not emailed before, newest first, when they chose
        to get them; None otherwise. A new paper by a followed author that this digest lists,
        or an earlier one sent, is accounted for without being told twice."""
        if subscription.user_id is None:
            return None
        found = notifications_to_email(
            self.engine, user_id=subscription.user_id, limit=NOTIFICATIONS_PER_DIGEST
        )
        if not found:
            return None
        known = already_sent | {i.paper.paper_id for section in sections for i in section.items}
        told = [n for n in found if not (n.kind == "author_paper" and n.paper_id in known)]
        shown = told[: self.per_section]
        return DigestNotices(
            items=[DigestNotice(*n.describe()) for n in shown],
            more=len(told) - len(shown),
            notification_ids=tuple(n.notification_id for n in found),
        )

    def _by_followed_authors(self, user_id: int) -> list[tuple[str, str | None]]:
        """The period's papers by authors the reader follows, most upvoted first, each with
        the followed name."""
        follows = followed(self.engine, user_id=user_id)
        if not follows.authors:
            return []
        found = papers_by_authors(
            self.engine,
            author_keys=sorted(follows.authors),
            first_day=self.period.first_list_day,
            last_day=self.period.last_list_day,
        )
        return [
            (
                p.paper_id,
                "by "
                + ", ".join(follows.labels[k] for k in found[p.paper_id])
                + ", whom you follow",
            )
            for p in self.window
            if p.paper_id in found
        ]

    def _in_categories(self, categories: Sequence[str]) -> list[str]:
        """The window's papers in any of `categories`, most upvoted first (cached per set)."""
        wanted = frozenset(c.lower() for c in categories)
        if wanted not in self._category_cache:
            if len(self._category_cache) >= CATEGORY_CACHE_ENTRIES:
                self._category_cache.clear()  # rare: that many distinct choices of categories
            self._category_cache[wanted] = [
                p.paper_id for p in self.window if any(c.lower() in wanted for c in p.categories)
            ]
        return self._category_cache[wanted]

    def _matches(self, text: str) -> list[str]:
        if text not in self._search_cache:
            matches = (
                self._recommender.search_matches(self.window, [text]) if self._recommender else {}
            )
            # Keep the window's order (most upvoted first) among the matches.
            self._search_cache[text] = [p.paper_id for p in self.window if p.paper_id in matches]
        return self._search_cache[text]

    def _load(self, paper_ids: list[str]) -> dict[str, Paper]:
        missing = [pid for pid in paper_ids if pid not in self._papers]
        if missing:
            self._papers.update(get_papers(self.engine, paper_ids=missing))
            while len(self._papers) > PAPER_CACHE_ENTRIES:
                self._papers.popitem(last=False)
        return {pid: self._papers[pid] for pid in paper_ids if pid in self._papers}
