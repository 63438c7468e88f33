"""The SVG charts: well-formed, named for screen readers, scaled to their box, themed by CSS
classes, and drawing exactly the numbers they are given."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict

import pytest

from dailypapers.web.charts import (
    HEIGHT,
    OTHER_CLASS,
    Axis,
    Series,
    format_value,
    legend,
    line_chart,
    series_class,
    sparkline,
    stacked_bars,
    value_ticks,
)

SVG = "{http://www.w3.org/2000/svg}"
COLUMNS = ("Mon 1 Jun", "Tue 2 Jun", "Wed 3 Jun", "Thu 4 Jun")
AXIS = Axis(COLUMNS, ((0, "1 Jun"), (3, "4 Jun")))
STACKS = [
    Series("cs.LG", (12, 0, 7, 30), series_class(0)),
    Series("cs.CV", (5, 3, 0, 11), series_class(1)),
    Series("other", (1, 2, 0, 4), OTHER_CLASS),
]


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # raises on anything that is not well-formed XML


def test_stacked_bars_draw_every_value_and_stack_to_the_totals() -> None:
    svg = _parse(stacked_bars("daily", "Papers per day", "58 papers.", AXIS, STACKS))
    bars = svg.findall(f"{SVG}rect")
    assert len(bars) == sum(1 for s in STACKS for v in s.values if v)  # zeros draw nothing
    by_column: dict[str, float] = defaultdict(float)
    for bar in bars:
        tip = bar.find(f"{SVG}title")
        assert tip is not None and tip.text
        column = tip.text.split(", ")[1].split(":")[0]
        by_column[column] += float(bar.attrib["data-value"])
    totals = [sum(s.values[i] for s in STACKS if s.values[i] is not None) for i in range(4)]
    assert [by_column[c] for c in COLUMNS] == totals == [18, 5, 7, 45]
    # Heights are proportional to the values, and a column's bars sit on top of each other.
    first = [b for b in bars if "Mon 1 Jun" in (b.findtext(f"{SVG}title") or "")]
    bottom = float(first[0].attrib["y"]) + float(first[0].attrib["height"])
    assert bottom == pytest.approx(HEIGHT - 28)
    for lower, upper in zip(first, first[1:], strict=False):
        assert float(upper.attrib["y"]) + float(upper.attrib["height"]) == pytest.approx(
            float(lower.attrib["y"])
        )
    per_unit = [float(b.attrib["height"]) / float(b.attrib["data-value"]) for b in bars]
    assert max(per_unit) == pytest.approx(min(per_unit), rel=0.01)  # drawn to 0.01 units


def test_a_chart_is_a_named_image_that_scales_and_takes_its_colours_from_css() -> None:
    markup = stacked_bars("daily", "Papers per day", "58 papers in 4 days.", AXIS, STACKS)
    svg = _parse(markup)
    assert svg.attrib["role"] == "img"
    assert svg.attrib["viewBox"] == f"0 0 480 {HEIGHT}" and "width" not in svg.attrib
    assert svg.attrib["aria-labelledby"] == "daily-title daily-desc"
    assert svg.findtext(f"{SVG}title") == "Papers per day"
    assert svg.findtext(f"{SVG}desc") == "58 papers in 4 days."
    assert {b.attrib["class"] for b in svg.findall(f"{SVG}rect")} == {
        "series-0",
        "series-1",
        "series-other",
    }
    assert "fill=" not in str(markup) and "style=" not in str(markup)  # colours from CSS
    labels = [t.text for t in svg.findall(f"{SVG}text")]
    assert "1 Jun" in labels and "4 Jun" in labels and "Tue 2 Jun" not in labels
    assert labels[:4] == ["0", "20", "40", "60"]  # the tallest bar is 45


def test_labels_from_data_are_escaped() -> None:
    hostile = Series('<script>alert(1)</script> & "q"', (0.5, None, 0.25), series_class(0))
    axis = Axis(("a", "b", "c"), ((0, "<b>"),))
    markup = line_chart("q<x>", 'A "title" <i>', "x < y & z", axis, [hostile])
    svg = _parse(markup)  # still well-formed
    assert "<script>" not in str(markup) and "<b>" not in str(markup)
    assert svg.findtext(f"{SVG}title") == 'A "title" <i>'
    points = svg.findall(f"{SVG}circle")
    assert [p.findtext(f"{SVG}title") for p in points] == [
        '<script>alert(1)</script> & "q", a: 50.0%',
        '<script>alert(1)</script> & "q", c: 25.0%',
    ]
    assert "<script>" not in str(legend([hostile]))


def test_a_line_breaks_where_a_value_is_missing() -> None:
    series = Series("share", (0.1, 0.2, None, 0.3, 0.4), series_class(2))
    axis = Axis(tuple("abcde"), ())
    svg = _parse(line_chart("s", "t", "d", axis, [series]))
    path = svg.find(f"{SVG}path")
    assert path is not None and path.attrib["class"] == "line series-2"
    assert re.findall(r"[ML]", path.attrib["d"]) == ["M", "L", "M", "L"]
    assert len(svg.findall(f"{SVG}circle")) == 4


def test_marked_points_only() -> None:
    series = Series("votes", (1, 1, 1, 3), series_class(0))
    svg = _parse(
        line_chart("v", "t", "d", Axis(tuple("abcd"), ()), [series], marked=frozenset({0, 3}))
    )
    assert len(svg.findall(f"{SVG}circle")) == 2


def test_value_ticks_are_round_and_cover_the_maximum() -> None:
    assert value_ticks(45, whole=True) == [0, 20, 40, 60]
    assert value_ticks(38, whole=True) == [0, 10, 20, 30, 40]
    assert value_ticks(3, whole=True) == [0, 1, 2, 3]
    assert value_ticks(0, whole=True) == [0, 1]
    assert value_ticks(0.037, whole=False) == pytest.approx([0, 0.01, 0.02, 0.03, 0.04])
    for maximum in (1, 7, 99, 101, 2345, 0.0012, 0.45):
        ticks = value_ticks(maximum, whole=maximum >= 1)
        assert ticks[0] == 0 and ticks[-1] >= maximum and len(ticks) <= 5


def test_values_are_formatted_for_people() -> None:
    assert format_value(12345, percent=False) == "12,345"
    assert format_value(0.025, percent=True, step=0.025) == "2.5%"
    assert format_value(0.1, percent=True, step=0.05) == "10%"
    assert format_value(0.0012, percent=True) == "0.12%"
    assert format_value(0.234, percent=True) == "23.4%"


def test_sparkline_and_legend() -> None:
    svg = _parse(sparkline([0, 0.1, 0.05, 0.2], "agents: weekly share"))
    assert svg.attrib["aria-label"] == "agents: weekly share"
    line = svg.find(f"{SVG}polyline")
    assert line is not None and len(line.attrib["points"].split()) == 4
    html = str(legend(STACKS))
    assert html.count("<li>") == 3 and 'class="swatch series-other"' in html
