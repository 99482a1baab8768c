"""`{% load home_format %}`: money, percent, day and count as home.format writes them."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone

from home import format as fmt

register = template.Library()
register.filter("money", fmt.money)
register.filter("percent", fmt.percent)
register.filter("count", fmt.count)


@register.filter("day")
def day(value: dt.date | dt.datetime | None) -> str:
    """A moment is shown on the company's calendar day (its time zone), a date as it is."""
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return fmt.day(value)
