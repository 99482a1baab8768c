"""Plotly figures rendered into pages. The figures are built in Python from the same selectors as the
tables; plotly.js is served locally (static `vendor/plotly.min.js`), and the mode bar's camera button
downloads any chart as PNG.

A chart is written as data, not as a script: an empty `<div data-chart>` and the figure in a
`<script type="application/json">` beside it, which `static/js/hub.js` draws on load and whenever htmx swaps
content in. So no inline script runs (the Content-Security-Policy allows none without the page's nonce, and a
fragment swapped in later could not know that nonce), and clicks are wired by the same static file.

Every page (dashboards, forecasting, incentives) draws its charts through `render`; `style` and `to_html` are its
two halves, kept apart for the tests that check each.

plotly.js reads a subset of HTML in every text it draws (names, labels, ticks, hovers, titles: `<a href>`, `<b>`,
`<br>`, `<span style>`), and decodes HTML entities in it. So a deal, person or account named
`<a href="https://evil.example">Approve</a>` would be a live link in a chart: `to_html` escapes `&`, `<` and `>`
in every text of the figure (`escape_text`), which plotly.js then shows as the literal characters. Left as they
are: the templates the code writes (`hovertemplate`, `texttemplate`, with their `<extra></extra>`; user text goes
into them through `%{x}`, `%{text}`, `%{fullData.name}`, which are escaped), `customdata` (the drill-down's
addresses, read by hub.js, never drawn), and any text the code marks as markup with `mark_safe`/`format_html`
(e.g. an intended `<br>`, with its user parts escaped by `format_html`). Numbers and dates are not strings, or
have none of the three characters, and stay as they are.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import uuid
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from django.utils.html import escape
from django.utils.safestring import SafeData, SafeString, mark_safe

PALETTE = ["#3554d1", "#1f8a4c", "#b7791f", "#c53030", "#6b46c1", "#2b6cb0", "#718096"]


def _style_validated(fig: go.Figure, *, height: int) -> go.Figure:
    """The project's style through plotly's validating setters (slow: 20–30 ms a figure). `style` applies what
    this does to an empty figure, once per height."""
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


_AXIS = re.compile(r"([xy])axis\d*")


@functools.cache
def _style_layout(height: int) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """What the style adds to a layout, validated by plotly once: (the layout's own keys, every x axis's, every
    y axis's)."""
    blank = go.Figure()
    before = blank.to_dict()["layout"]
    after = _style_validated(blank, height=height).to_dict()["layout"]
    added = {key: value for key, value in after.items() if before.get(key) != value}
    return added, added.pop("xaxis"), added.pop("yaxis")


def _merge(target: dict[str, Any], values: dict[str, Any]) -> None:
    """plotly's update semantics on plain dicts: nested properties merge, anything else is replaced."""
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def style(fig: go.Figure, *, height: int = 320) -> go.Figure:
    """The project's look: what `_style_validated` sets (the layout's margins, font, colours and legend; every x
    axis's grid; every y axis's grid, zero line, thousands separators and hover format), merged straight into
    the figure's layout. plotly's setters re-validate every property on every call and cost more than the rest
    of a dashboard's chart; these values were validated once (`_style_layout`), and the result is the same
    figure (tests/test_charts.py compares the two)."""
    layout_values, xaxis, yaxis = _style_layout(height)
    # The dict behind `fig.layout`: plotly's layout objects read their properties from it on every access.
    layout: dict[str, Any] = fig._layout
    _merge(layout, layout_values)
    for axis, values in (("x", xaxis), ("y", yaxis)):
        keys = [f"{axis}axis"] + [key for key in layout if (m := _AXIS.fullmatch(key)) and m.group(1) == axis]
        for key in dict.fromkeys(keys):
            _merge(layout.setdefault(key, {}), values)
    return fig


def percent_axis(title: str) -> dict[str, Any]:
    """A second y axis of percentages over a money axis: its own round ticks (plotly's default for an
    overlaying axis syncs them to the first axis's grid, which gives ticks like 28.87), from zero."""
    return {"title": title, "overlaying": "y", "side": "right", "showgrid": False, "tickmode": "auto",
            "rangemode": "tozero", "ticksuffix": " %", "hoverformat": ",.1f"}  # fmt: skip


CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
}
# So that no "</script>" or "<!--" inside the JSON can end the <script> element holding it (json_script's escapes).
_JSON_IN_SCRIPT = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


# plotly.js decodes these entities in the texts it draws (and only these three matter to its tag parser).
_TEXT_ESCAPES = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"}
# Not drawn as text, or written by the code as a template (see the module's docstring).
_NOT_TEXT = frozenset({"customdata", "hovertemplate", "texttemplate", "hovertemplatefallback", "texttemplatefallback"})


def escape_text(value: Any) -> Any:
    """`value` (a figure's dict, or any part of one) with every text escaped for plotly.js: `&`, `<` and `>` as
    entities, which it shows literally. Dicts and lists are escaped in place (and returned); text marked safe,
    numbers, dates and the properties in `_NOT_TEXT` are left as they are."""
    if isinstance(value, str):
        return value if isinstance(value, SafeData) else value.translate(_TEXT_ESCAPES)
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in _NOT_TEXT:
                value[key] = escape_text(item)
    elif isinstance(value, list):
        value[:] = [escape_text(item) for item in value]
    elif isinstance(value, tuple):
        return [escape_text(item) for item in value]
    elif isinstance(value, np.ndarray) and value.dtype.kind in "OUS":
        return [escape_text(item.decode() if isinstance(item, bytes) else item) for item in value.tolist()]
    return value


def render(
    fig: go.Figure, *, name: str, height: int = 320, links: bool = False, div_id: str | None = None
) -> SafeString:
    """The one way a page shows a chart: the figure in the project's style (`style`), written as a placeholder
    and its JSON for `static/js/hub.js` (`to_html`). `name` is the PNG's file name; `links`: clicking a point
    opens the same-site address in its `customdata` (a dashboard's drill-down)."""
    return to_html(style(fig, height=height), name=name, div_id=div_id, links=links)


def to_html(fig: go.Figure, *, name: str, div_id: str | None = None, links: bool = False) -> SafeString:
    """The figure as a chart placeholder and its data (see the module's docstring). `name` is the PNG's file
    name; `links`: clicking a point opens the same-site address in its `customdata` (a drill-down)."""
    config = {**CONFIG, "toImageButtonOptions": {"format": "png", "filename": name, "scale": 2}}
    plot_id = escape(div_id or f"chart-{uuid.uuid4().hex[:12]}")
    figure = pio.to_json(escape_text(fig.to_dict()), validate=False)
    data = f'{{"figure":{figure},"config":{json.dumps(config)}}}'.translate(_JSON_IN_SCRIPT)
    links_attr = " data-chart-links" if links else ""
    return mark_safe(  # noqa: S308 - the id is escaped and the JSON holds no "<", ">" or "&" any more
        f'<div id="{plot_id}" class="chart-plot" data-chart="{plot_id}-data"{links_attr}></div>'
        f'<script type="application/json" id="{plot_id}-data">{data}</script>'
    )
