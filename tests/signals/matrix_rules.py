"""The permission matrix's signals routes and records: rules (see tests/signals/matrix_common.py)."""

from __future__ import annotations

from typing import Any

ROUTES: dict[str, dict[str, Any]] = {}
OWNED_KINDS: set[str] = set()


def world(people: dict[str, Any], owned: dict[str, dict[str, Any]], shared: dict[str, Any]) -> None:
    return None
