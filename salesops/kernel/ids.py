"""Row ids in text (query strings, form keys, uploaded cells): ASCII digits short enough to be one. '²' is a digit
to str.isdigit() and int() refuses it; int() also refuses more than 4,300 digits, and a database id has at most
18 or 19. Plain Python, below every app."""

from __future__ import annotations

from typing import Any

MAX_ID_DIGITS = 18
# The same rule as a regular expression, for URL routes (a viewset's `lookup_value_regex`): /scenarios/abc/ is no
# route, a 404 rather than a 500.
ID_PATTERN = rf"[0-9]{{1,{MAX_ID_DIGITS}}}"


def is_id(value: Any) -> bool:
    """Whether `value` (any object, read as text) is an id: 1 to 18 ASCII digits."""
    text = str(value)
    return 0 < len(text) <= MAX_ID_DIGITS and text.isascii() and text.isdigit()


def not_an_id(param: str, value: str) -> str:
    """The words refusing `value` given for the id parameter `param` of an address (long text cut at 40
    characters): "person: '1.5' is not an id (whole digits, e.g. ?person=12)."."""
    shown = value if len(value) <= 40 else f"{value[:40]}…"
    return f"{param}: {shown!r} is not an id (whole digits, e.g. ?{param}=12)."
