"""The permission matrix's enablement routes and records: ramp (see tests/enablement/matrix_common.py).

The matrix's reps all have a start date (the factories' 15 Jan 2024), so each has a ramp; the ramp reads their
won deals and quotas, which the matrix already makes. A person in scope who is no rep (a manager) has a page
without a ramp, not a 404; a person outside the scope answers as a missing id. The export is for managers,
finance and sales ops (a rep: 403)."""

from __future__ import annotations

from typing import Any

ROUTES: dict[str, dict[str, Any]] = {
    "enablement/ramp/": {"query": ("years=3", "years=5", "export=csv")},
    "enablement/ramp/<int:pk>/": {"ids": "person"},
    "api/v1/enablement/ramp/": {"query": ("years=3",)},
    "api/v1/enablement/ramp/<pk>/": {"ids": "person"},
}
OWNED_KINDS: set[str] = set()


def world(people: dict[str, Any], owned: dict[str, dict[str, Any]], shared: dict[str, Any]) -> None:
    return None
