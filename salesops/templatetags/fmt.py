"""`{% load fmt %}`: the formats of salesops/formats.py as template filters."""

from __future__ import annotations

from typing import Any

from django import template

from salesops import formats

register = template.Library()

register.filter("money", formats.money)
register.filter("money0", formats.money0)
register.filter("percent", formats.percent)
register.filter("rate", formats.rate)
register.filter("label", formats.label)


@register.filter
def in_words(raw: Any, code: str = "") -> str:
    return formats.value(code, raw)
