"""Plotly figures rendered into pages. The figures are built in Python from the same selectors as the
tables; plotly.js is served locally (static `vendor/plotly.min.js`), and the mode bar's camera button
downloads any chart as PNG."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

PALETTE = ["#3554d1", "#1f8a4c", "#b7791f", "#c53030", "#6b46c1", "#2b6cb0", "#718096"]


def style(fig: go.Figure, *, height: int = 320) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 48, "r": 16, "t": 24, "b": 40},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12, "color": "#1d2330"},
        colorway=PALETTE,
        legend={"orientation": "h", "y": -0.2},
        hoverlabel={"namelength": -1},
    )
    fig.update_xaxes(gridcolor="#e3e6ec")
    # Round ticks with thousands separators; hovers with cents at most.
    fig.update_yaxes(gridcolor="#e3e6ec", zerolinecolor="#c9ced8", separatethousands=True, hoverformat=",.2~f")
    return fig


def percent_axis(title: str) -> dict[str, Any]:
    """A second y axis of percentages over a money axis: its own round ticks (plotly's default for an
    overlaying axis syncs them to the first axis's grid, which gives ticks like 28.87), from zero."""
    return {"title": title, "overlaying": "y", "side": "right", "showgrid": False, "tickmode": "auto",
            "rangemode": "tozero", "ticksuffix": " %", "hoverformat": ",.1f"}  # fmt: skip


def to_html(fig: go.Figure, *, name: str, div_id: str | None = None) -> str:
    config: dict[str, Any] = {
        "displaylogo": False,
        "responsive": True,
        "toImageButtonOptions": {"format": "png", "filename": name, "scale": 2},
        "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    }
    return fig.to_html(full_html=False, include_plotlyjs=False, config=config, div_id=div_id)
