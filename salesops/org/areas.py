"""The entry page of an app lists its areas, each for an audience: one rule for every app's home
(planning, enablement, signals), so "managers" means the same people everywhere.

Audiences: "all" (everyone signed in); "managers" (managers, and finance and sales ops, who see everyone);
"finance" (finance and sales ops); "ops" (sales ops). An area whose page is not built yet (its URL name does not
resolve) is left out rather than linked to a 404."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from django.urls import NoReverseMatch, reverse

from salesops.org.permissions import may_manage_setup
from salesops.org.selectors import sees_everyone

# (label, URL name, what it is for, audience)
AreaSpec = tuple[str, str, str, str]


def shown_to(user: Any, audience: str) -> bool:
    if audience == "all":
        return True
    if audience == "managers":
        return bool(user.is_manager) or sees_everyone(user)
    if audience == "finance":
        return bool(user.is_finance) or may_manage_setup(user)
    if audience == "ops":
        return may_manage_setup(user)
    raise ValueError(f"unknown audience {audience!r}")


def area_links(user: Any, areas: Iterable[AreaSpec]) -> list[dict[str, str]]:
    """The areas `user` may open, as {"label", "url", "text"} in the order given."""
    links = []
    for label, name, text, audience in areas:
        if not shown_to(user, audience):
            continue
        with contextlib.suppress(NoReverseMatch):
            links.append({"label": label, "url": reverse(name), "text": text})
    return links
