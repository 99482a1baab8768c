"""`{% load sorting %}`: a list's column header that sorts it (server-side `?ordering=`, the list's allow-list).

`{% sort_th "Amount" "amount" ordering sort_query "num" %}` renders the header cell with a link: the first
click sorts ascending, a click on the current column reverses it; the current column carries an arrow and
`aria-sort`. `sort_query` is the list's address without `ordering` and `page` (the filters stay).
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def sort_th(label: str, key: str, ordering: str, query: str, css: str = "") -> str:
    current = ordering.split(",")[0] if ordering else ""
    if current == key:
        target, arrow, state = f"-{key}", " ▲", "ascending"
    elif current == f"-{key}":
        target, arrow, state = key, " ▼", "descending"
    else:
        target, arrow, state = key, "", ""
    href = f"?{query}&ordering={target}" if query else f"?ordering={target}"
    return format_html(
        '<th class="sortable {}"{}><a href="{}" data-sort="{}">{}{}</a></th>',
        css,
        format_html(' aria-sort="{}"', state) if state else "",
        href,
        key,
        label,
        arrow,
    )
