"""salesops.charts.style merges the project's look into a figure's layout directly (plotly's validating setters
cost more than the rest of a dashboard's chart); the figure must be the one plotly's own setters make."""

from __future__ import annotations

import json
from collections.abc import Callable

import plotly.graph_objects as go
import pytest
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
