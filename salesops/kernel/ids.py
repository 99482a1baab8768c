"""Row ids in text (query strings, form keys, uploaded cells): ASCII digits short enough to be one. '²' is a digit
to str.isdigit() and int() refuses it; int() also refuses more than 4,300 digits, and a database id has at most
18 or 19. Plain Python, below every app."""

from __future__ import annotations

from typing import Any

MAX_ID_DIGITS = 18


def is_id(value: Any) -> bool:
    """Whether `value` (any object, read as text) is an id: 1 to 18 ASCII digits."""
    text = str(value)
    return 0 < len(text) <= MAX_ID_DIGITS and text.isascii() and text.isdigit()
