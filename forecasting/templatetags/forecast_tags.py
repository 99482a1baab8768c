"""Number formats of the forecast pages: money without cents, ratios as percentages, '—' for none."""

from __future__ import annotations

from functools import partial
from typing import Any

from django import template

from salesops import formats

register = template.Library()


# Money without cents and shares as whole percentages: the one formatting layer's (salesops/formats.py).
register.filter("money0", formats.money0)
register.filter("pct", partial(formats.percent, places=0))


@register.filter
def ratio(value: Any) -> str:
    if value is None:
        return "—"
    return f"{float(value):.1f}×"


@register.filter
def get(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None
