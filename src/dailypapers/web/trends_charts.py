"""The charts of /trends and of a paper's votes, drawn from the views' JSON shapes with
web/charts.py: the page and its JSON twin show the same numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from markupsafe import Markup

from dailypapers.web.charts import (
    OTHER_CLASS,
    Axis,
    Series,
    legend,
    line_chart,
    series_class,
    sparkline,
    stacked_bars,
)
from dailypapers.web.schemas import PaperPublic
from dailypapers.web.trends_schemas import (
    PaperCountsPublic,
    QuerySharesPublic,
    RisingTopicPublic,
    VoteHistoryPublic,
)
from dailypapers.web.trends_views import OTHER, vote_history

MAX_TICKS = 6
WIDE_WIDTH = 720  # the queries' chart spans the page
VOTE_DAYS_BY_DAY = 92  # longer vote histories are drawn by week


@dataclass(frozen=True, slots=True)
class Chart:
    svg: Markup
    legend: Markup
    series: list[Series]


@dataclass(frozen=True, slots=True)
class VotesChart:
    """What the paper page shows beside its votes: the line, a sentence, its JSON twin."""

    svg: Markup
    summary: str
    json_url: str


def _short(day: date) -> str:
    return f"{day.day} {day:%b}"


def _every(count: int) -> int:
    return max(1, math.ceil(count / MAX_TICKS))


def _ticks_from_end(labels: list[str]) -> tuple[tuple[int, str], ...]:
    """About MAX_TICKS labels, evenly spaced, the newest always shown."""
    step = _every(len(labels))
    return tuple((i, labels[i]) for i in range(len(labels) - 1, -1, -step))


def counts_chart(counts: PaperCountsPublic, chart_id: str, title: str) -> Chart:
    """Stacked bars of papers per day or week by primary category."""
    if counts.by == "day":
        days = [date.fromisoformat(p) for p in counts.periods]
        columns = tuple(f"{d:%a} {d.day} {d:%b %Y}" for d in days)
        # Labels on Mondays only, so they fall on the same weekday whatever the span.
        mondays = [(i, _short(d)) for i, d in enumerate(days) if d.weekday() == 0][::-1]
        ticks = tuple(mondays[:: _every(len(mondays))])
    else:
        days = [datetime.strptime(p + "-1", "%G-W%V-%u").date() for p in counts.periods]
        columns = tuple(
            f"week {p} (from {_short(d)})" for p, d in zip(counts.periods, days, strict=True)
        )
        ticks = _ticks_from_end([_short(d) for d in days])
    series = [
        Series(s.category, tuple(s.papers), OTHER_CLASS if s.category == OTHER else series_class(i))
        for i, s in enumerate(counts.series)
    ]
    svg = stacked_bars(chart_id, title, counts.summary, Axis(columns, ticks), series)
    return Chart(svg, legend(series), series)


def shares_chart(shares: QuerySharesPublic, chart_id: str) -> Chart:
    """One line per query: its share of each month's papers."""
    months = [datetime.strptime(m, "%Y-%m") for m in shares.months]
    columns = tuple(f"{m:%B %Y}" for m in months)
    ticks = _ticks_from_end([f"{m:%b %Y}" for m in months])
    series = [
        Series(line.query, tuple(line.share), series_class(i))
        for i, line in enumerate(shares.queries)
    ]
    title = "Share of each month's papers matching the queries"
    axis = Axis(columns, ticks)
    svg = line_chart(chart_id, title, shares.summary, axis, series, width=WIDE_WIDTH)
    return Chart(svg, legend(series), series)


def topic_sparkline(topic: RisingTopicPublic) -> Markup:
    weeks = len(topic.weekly_share)
    label = f"{topic.topic}: share of each week's papers over the last {weeks} weeks"
    return sparkline(topic.weekly_share, label)


def votes_chart(history: VoteHistoryPublic, today: date) -> Markup | None:
    """The running total of a paper's votes here from its first vote to `today`, by day (by
    week past VOTE_DAYS_BY_DAY), with a point where it changed."""
    if not history.days:
        return None
    first, end = history.days[0], max(today, history.days[-1])
    step = 1 if (end - first).days < VOTE_DAYS_BY_DAY else 7
    columns = [first + timedelta(days=i) for i in range(0, (end - first).days + 1, step)]
    if columns[-1] < end:
        columns.append(end)
    totals: list[float] = []
    changed = {0, len(columns) - 1}
    given = list(zip(history.days, history.cumulative, strict=True))
    running, next_vote = 0, 0
    for index, day in enumerate(columns):
        while next_vote < len(given) and given[next_vote][0] <= day:
            running = given[next_vote][1]
            next_vote += 1
        if totals and running != totals[-1]:
            changed.add(index)
        totals.append(float(running))
    labels = tuple(f"{d.day} {d:%b %Y}" for d in columns)
    axis = Axis(labels, _ticks_from_end([_short(d) for d in columns]))
    series = [Series("votes", tuple(totals), series_class(0))]
    title = "Votes on this site over time"
    summary = votes_summary(history, today)
    return line_chart(
        "votes-chart", title, summary, axis, series, percent=False, marked=frozenset(changed)
    )


def votes_summary(history: VoteHistoryPublic, today: date) -> str:
    """A sentence on a paper's votes here, and why Hugging Face's upvotes are not drawn."""
    text = ""
    if history.days:
        week = sum(
            n - (history.cumulative[i - 1] if i else 0)
            for i, (d, n) in enumerate(zip(history.days, history.cumulative, strict=True))
            if (today - d).days < 7
        )
        plural = "" if history.votes == 1 else "s"
        text = f"{history.votes:,} vote{plural} on this site since {history.days[0].day} "
        text += f"{history.days[0]:%b %Y}, {week:,} in the last 7 days."
    if history.upvotes:
        plural = "" if history.upvotes == 1 else "s"
        text += (
            f" The {history.upvotes:,} upvote{plural} from Hugging Face have no dates, so they"
            " are not drawn."
        )
    return text.strip()


def paper_votes_chart(request: Any, paper: PaperPublic) -> VotesChart | None:
    """For the paper page (a template global): its votes chart when it has votes here."""
    if not paper.votes:
        return None
    history = vote_history(request.app.state.dp, paper.id, votes=paper.votes, upvotes=paper.upvotes)
    today = datetime.now(UTC).date()
    svg = votes_chart(history, today)
    if svg is None:
        return None
    return VotesChart(svg, votes_summary(history, today), f"/api/v1/trends/votes/{paper.id}")
