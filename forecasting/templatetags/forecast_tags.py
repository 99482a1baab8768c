"""Number formats of the forecast pages: money without cents, ratios as percentages, '—' for none."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()


@register.filter
def money0(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return str(intcomma(f"{Decimal(value):.0f}"))


@register.filter
def pct(value: Any) -> str:
    if value is None:
        return "—"
    return f"{float(value) * 100:.0f} %"


@register.filter
def ratio(value: Any) -> str:
    if value is None:
        return "—"
    return f"{float(value):.1f}×"


@register.filter
def get(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None
