"""Charts drawn on the server as SVG: stacked bars, lines and sparklines, from plain data.

Pure functions: no I/O, no clock, nothing from a CDN. Every chart
- scales to its box (a `viewBox`; the stylesheet makes it as wide as its column), so the
  same markup fits a phone and a desktop;
- takes its colours from CSS custom properties through classes (`series-0` to `series-7`,
  `series-other`), which style.css sets for the light and the dark theme; lines also differ
  by dash, so no series is told apart by colour alone;
- is an image with a name for screen readers (`role="img"`, a `<title>` and a `<desc>` with
  the caller's one-sentence summary), and every bar or point has a `<title>` (a tooltip).
The numbers themselves go in a table beside the chart (templates/trends.html).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 480, 240
LEFT, RIGHT, TOP, BOTTOM = 46, 10, 12, 28  # room for the axes' labels
SERIES_CLASSES = 8
OTHER_CLASS = "series-other"
SVG_OPEN = (
    '<svg xmlns="http://www.w3.org/2000/svg" class="{css}" viewBox="0 0 {w} {h}" role="img"'
    ' aria-labelledby="{id}-title {id}-desc" focusable="false">'
    '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>'
)


@dataclass(frozen=True, slots=True)
class Series:
    """One stack of bars or one line: its name, a value per column, and its colour class."""

    label: str
    values: tuple[float | None, ...]  # None: no value (a gap in a line)
    css: str


@dataclass(frozen=True, slots=True)
class Axis:
    """The columns (one full label each, for tooltips) and the few labels shown under them."""

    columns: tuple[str, ...]
    ticks: tuple[tuple[int, str], ...]  # (column index, short label)


def series_class(index: int) -> str:
    """The colour class of the `index`-th series (they repeat after SERIES_CLASSES)."""
    return f"series-{index % SERIES_CLASSES}"


def value_ticks(maximum: float, *, whole: bool, count: int = 4) -> list[float]:
    """Round values from 0 to at least `maximum`, at most `count` steps of 1, 2, 2.5 or 5 × 10^k."""
    if maximum <= 0:
        return [0.0, 1.0]
    magnitude = 10 ** math.floor(math.log10(maximum / count))
    step = magnitude
    for multiple in (1, 2, 2.5, 5, 10):
        step = multiple * magnitude
        if whole and step != int(step):
            continue
        if step * count >= maximum:
            break
    step = max(step, 1.0) if whole else step
    return [i * step for i in range(math.ceil(maximum / step - 1e-9) + 1)]


def format_value(value: float, *, percent: bool, step: float | None = None) -> str:
    """A count with thousands separators, or a share as a percentage: with the decimals a
    tick `step` needs, else one (two below 1 %)."""
    if not percent:
        return f"{round(value):,}"
    points = value * 100
    if step is None:
        decimals = 1 if points >= 1 else 2
    else:
        exact = (d for d in range(3) if abs(round(step * 100, d) - step * 100) < 1e-9)
        decimals = next(exact, 3)
    return f"{points:.{decimals}f}%"


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _frame(
    chart_id: str,
    title: str,
    summary: str,
    axis: Axis,
    ticks: list[float],
    *,
    percent: bool,
    width: int,
) -> list[str]:
    """The opening tag, names, horizontal grid with value labels, and column labels."""
    names = {"id": escape(chart_id), "title": escape(title), "desc": escape(summary)}
    parts = [SVG_OPEN.format(css="chart", w=width, h=HEIGHT, **names)]
    plot_h = HEIGHT - TOP - BOTTOM
    step = ticks[1] - ticks[0]
    for tick in ticks:
        y = _number(TOP + plot_h - tick / ticks[-1] * plot_h)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{width - RIGHT}" y1="{y}" y2="{y}"/>')
        value = escape(format_value(tick, percent=percent, step=step))
        parts.append(f'<text class="value-label" x="{LEFT - 6}" y="{y}">{value}</text>')
    slot = (width - LEFT - RIGHT) / max(len(axis.columns), 1)
    for index, label in axis.ticks:
        x = _number(LEFT + (index + 0.5) * slot)
        parts.append(
            f'<text class="column-label" x="{x}" y="{HEIGHT - BOTTOM + 18}">{escape(label)}</text>'
        )
    base = HEIGHT - BOTTOM
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{width - RIGHT}" y1="{base}" y2="{base}"/>')
    return parts


def stacked_bars(
    chart_id: str,
    title: str,
    summary: str,
    axis: Axis,
    series: Sequence[Series],
    *,
    width: int = WIDTH,
) -> Markup:
    """Counts per column, one stacked bar each, the first series at the bottom."""
    columns = len(axis.columns)
    totals = [sum(s.values[i] or 0 for s in series) for i in range(columns)]
    ticks = value_ticks(max(totals, default=0), whole=True)
    parts = _frame(chart_id, title, summary, axis, ticks, percent=False, width=width)
    slot = (width - LEFT - RIGHT) / max(columns, 1)
    bar = max(slot * 0.8, 0.5)
    scale = (HEIGHT - TOP - BOTTOM) / ticks[-1]
    for i, column in enumerate(axis.columns):
        x = _number(LEFT + i * slot + (slot - bar) / 2)
        top = float(HEIGHT - BOTTOM)
        for s in series:
            value = s.values[i] or 0
            if value <= 0:
                continue
            height = value * scale
            top -= height
            tip = escape(f"{s.label}, {column}: {format_value(value, percent=False)}")
            parts.append(
                f'<rect class="{s.css}" x="{x}" y="{_number(top)}" width="{_number(bar)}"'
                f' height="{_number(height)}" data-value="{_number(value)}"><title>{tip}</title>'
                "</rect>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # every piece of text above went through escape()


def line_chart(
    chart_id: str,
    title: str,
    summary: str,
    axis: Axis,
    series: Sequence[Series],
    *,
    percent: bool = True,
    marked: frozenset[int] | None = None,
    width: int = WIDTH,
) -> Markup:
    """One line per series across the columns, with a point (and tooltip) at each value, or
    only at the columns `marked`."""
    values = [v for s in series for v in s.values if v is not None]
    ticks = value_ticks(max(values, default=0), whole=not percent)
    parts = _frame(chart_id, title, summary, axis, ticks, percent=percent, width=width)
    slot = (width - LEFT - RIGHT) / max(len(axis.columns), 1)
    plot_h = HEIGHT - TOP - BOTTOM
    for s in series:
        points: list[tuple[str, str, str]] = []
        path: list[str] = []
        for i, value in enumerate(s.values):
            if value is None:
                continue
            x = _number(LEFT + (i + 0.5) * slot)
            y = _number(TOP + plot_h - value / ticks[-1] * plot_h)
            joined = i > 0 and s.values[i - 1] is not None
            path.append(f"{'L' if joined and path else 'M'}{x} {y}")
            tip = f"{s.label}, {axis.columns[i]}: {format_value(value, percent=percent)}"
            if marked is None or i in marked:
                points.append((x, y, tip))
        if path:
            parts.append(f'<path class="line {s.css}" d="{" ".join(path)}"/>')
        parts += [
            f'<circle class="{s.css}" cx="{x}" cy="{y}" r="3"><title>{escape(tip)}</title></circle>'
            for x, y, tip in points
        ]
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(values: Sequence[float], label: str, *, css: str = "series-0") -> Markup:
    """A small line with no axes, for a row of a table; `label` says what it shows."""
    width, height, pad = 96, 24, 2
    top = max(values, default=0) or 1
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    points = " ".join(
        f"{_number(pad + i * step)},{_number(height - pad - v / top * (height - 2 * pad))}"
        for i, v in enumerate(values)
    )
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" viewBox="0 0 {width}'
        f' {height}" role="img" aria-label="{escape(label)}" focusable="false">'
        f'<polyline class="line {css}" points="{points}"/></svg>'
    )


def legend(series: Sequence[Series]) -> Markup:
    """The series' names beside their colour, as an HTML list (it wraps on a phone)."""
    items = "".join(
        f'<li><span class="swatch {s.css}" aria-hidden="true"></span>{escape(s.label)}</li>'
        for s in series
    )
    return Markup(f'<ul class="legend">{items}</ul>')
