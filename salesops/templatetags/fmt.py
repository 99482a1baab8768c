"""`{% load fmt %}`: the formats of salesops/formats.py as template filters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone

from salesops import formats
from salesops.kernel.money import format_points

register = template.Library()

register.filter("money", formats.money)
register.filter("money0", formats.money0)
register.filter("percent", formats.percent)
register.filter("rate", formats.rate)
register.filter("label", formats.label)
register.filter("count", formats.count)
# A percentage stored in points, 0–100 (a probability, a split, a pass mark): 62.50 → "62.5 %", 40 → "40 %".
register.filter("points", format_points)


@register.filter("day")
def day(value: Any) -> str:
    """The calendar day of a date or a moment (a moment on the company's time zone): "4 Dec 2026"."""
    if isinstance(value, dt.datetime):
        value = (timezone.localtime(value) if timezone.is_aware(value) else value).date()
    return formats.day(value)


@register.simple_tag
def region_and_team(region: Any, team: Any) -> str:
    """Where a person (or a programme) sits, each name once: "East · Jones" for the team "East · Jones" of the
    region East (the demo's teams, and many real ones, are named after their region), "East · Enterprise" for a
    team that is not; either one alone when the other is missing. Escaped like any tag output."""
    region_name, team_name = str(region or "").strip(), str(team or "").strip()
    if not region_name or not team_name:
        return region_name or team_name
    if team_name == region_name or (
        team_name.startswith(region_name) and not team_name[len(region_name)].isalnum()
    ):  # the team's name starts with the region's ("East · Jones", "East-2"), not just its letters ("Eastern")
        return team_name
    return f"{region_name} · {team_name}"


@register.filter
def in_words(raw: Any, code: str = "") -> str:
    return formats.value(code, raw)


@register.filter
def labels(codes: Any) -> str:
    """A list of codes in words, for a sentence: ["account", "close_date"] → "account, close date"."""
    return ", ".join(formats.label(code).lower() for code in codes or [])


@register.filter
def percents(values: Any) -> str:
    """Shares in words: [0.25, 0.5] → "25 %, 50 %" (as many decimals as they need)."""
    return ", ".join(formats.rate(value) for value in values or [])
