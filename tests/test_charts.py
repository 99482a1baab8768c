"""salesops.charts.style merges the project's look into a figure's layout directly (plotly's validating setters
cost more than the rest of a dashboard's chart); the figure must be the one plotly's own setters make."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pytest
from django.utils.html import format_html
from plotly.subplots import make_subplots

from salesops import charts


def _bars() -> go.Figure:
    return go.Figure(go.Bar(x=["a", "b"], y=[1, 2], name="Bookings"))


def _bars_with_layout() -> go.Figure:
    # Values the caller set before styling: the style's keys replace theirs, their other keys stay.
    fig = _bars()
    fig.update_layout(
        barmode="stack",
        legend={"orientation": "v", "x": 0.5, "title": {"text": "Reps"}},
        margin={"l": 10, "pad": 3},
        font={"size": 9},
        xaxis={"title": "Month", "gridcolor": "#000000"},
    )
    return fig


def _percent_over_money() -> go.Figure:
    fig = _bars()
    fig.add_trace(go.Scatter(x=["a", "b"], y=[50, 75], name="Attainment", yaxis="y2"))
    fig.update_layout(yaxis2=charts.percent_axis("Attainment"))
    return fig


def _subplots() -> go.Figure:
    fig = make_subplots(rows=1, cols=2)
    fig.add_trace(go.Bar(x=["a"], y=[1]), row=1, col=1)
    fig.add_trace(go.Bar(x=["b"], y=[2]), row=1, col=2)
    return fig


def _horizontal() -> go.Figure:
    return go.Figure(go.Bar(y=["Ann", "Bob"], x=[3, 4], orientation="h", customdata=["/x/", "/y/"]))


FIGURES: list[Callable[[], go.Figure]] = [
    go.Figure,
    _bars,
    _bars_with_layout,
    _percent_over_money,
    _subplots,
    _horizontal,
]


@pytest.mark.parametrize("make", FIGURES, ids=lambda make: make.__name__)
@pytest.mark.parametrize("height", [320, 260, 400])
def test_style_makes_the_figure_plotlys_setters_make(make: Callable[[], go.Figure], height: int) -> None:
    expected = charts._style_validated(make(), height=height)
    styled = charts.style(make(), height=height)
    assert styled.to_dict() == expected.to_dict()
    assert json.loads(styled.to_json()) == json.loads(expected.to_json())


def test_the_styled_figure_reads_and_updates_as_usual() -> None:
    fig = charts.style(_percent_over_money(), height=300)
    assert fig.layout.height == 300
    assert fig.layout.yaxis2.gridcolor == "#e3e6ec"
    assert fig.layout.legend.orientation == "h"
    fig.update_layout(legend={"y": -0.3})
    assert fig.to_dict()["layout"]["legend"] == {"orientation": "h", "y": -0.3}
    # A second figure is not touched by the first's styling (the cached values are copied, not shared).
    fig.layout.margin.l = 1
    assert charts.style(_bars()).layout.margin.l == 48


EVIL = '<a href="https://evil.example">Approve</a>'


def _embedded_figure(html: str) -> dict[str, Any]:
    """The figure a page embeds for hub.js to draw (the JSON in the chart's <script type="application/json">)."""
    match = re.search(r'<script type="application/json" id="[^"]+">(.*?)</script>', html, re.S)
    assert match, html
    figure: dict[str, Any] = json.loads(match.group(1))["figure"]
    return figure


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def test_names_in_a_chart_are_shown_literally_not_as_plotly_html() -> None:
    # A deal, a person and a stage named as markup: plotly.js would draw <a href> as a live link, <b> as bold.
    fig = go.Figure(
        go.Bar(
            y=[EVIL, "Ann & <b>Bob</b>"],
            x=[3, 4],
            orientation="h",
            name="<b>Stage</b>",
            text=[EVIL, "ok"],
            hovertext=np.array([EVIL, "ok"], dtype=object),
            customdata=["/pipeline/deals/?stage=1&owner=2", "/x/"],
            hovertemplate="%{y}: %{x}<extra></extra>",
        )
    )
    fig.add_scatter(x=[dt.date(2026, 1, 1), dt.date(2026, 2, 1)], y=[Decimal("1.50"), 2], name="Trend")
    fig.update_layout(
        title={"text": f"Deals of {EVIL}"},
        yaxis={"tickvals": [0], "ticktext": [EVIL]},
        annotations=[{"text": EVIL, "x": 0, "y": 0}],
    )
    figure = _embedded_figure(charts.render(fig, name="deals"))

    bar, line = figure["data"]
    escaped = '&lt;a href="https://evil.example"&gt;Approve&lt;/a&gt;'
    assert bar["y"] == [escaped, "Ann &amp; &lt;b&gt;Bob&lt;/b&gt;"]
    assert bar["text"][0] == escaped
    assert bar["hovertext"][0] == escaped
    assert bar["name"] == "&lt;b&gt;Stage&lt;/b&gt;"
    assert figure["layout"]["title"]["text"] == f"Deals of {escaped}"
    assert figure["layout"]["yaxis"]["ticktext"] == [escaped]
    assert figure["layout"]["annotations"][0]["text"] == escaped
    assert not [s for s in _strings(figure) if "<a" in s or "<b>" in s]
    # The code's own template and the drill-down's addresses stay as written; numbers and dates too.
    assert bar["hovertemplate"] == "%{y}: %{x}<extra></extra>"
    assert bar["customdata"] == ["/pipeline/deals/?stage=1&owner=2", "/x/"]
    assert bar["x"] == [3, 4]
    assert line["x"] == ["2026-01-01", "2026-02-01"]
    assert line["y"] == [1.5, 2]


def test_markup_the_code_marks_safe_is_drawn_as_markup() -> None:
    # An intended line break, with the user's part escaped by format_html: not escaped twice.
    label = format_html("{}<br>{}", EVIL, "Q3")
    figure = _embedded_figure(charts.render(go.Figure(go.Bar(x=[label], y=[1], name=label)), name="x"))
    expected = "&lt;a href=&quot;https://evil.example&quot;&gt;Approve&lt;/a&gt;<br>Q3"
    assert figure["data"][0]["x"] == [expected]
    assert figure["data"][0]["name"] == expected
