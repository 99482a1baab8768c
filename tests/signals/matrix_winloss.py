"""The permission matrix's signals routes and records: win/loss (see tests/signals/matrix_common.py).

The win/loss page and API are everyone's over the deals they see; the product-gap export (page and API) is for
managers, finance and sales ops (a rep: 403). Each owner gets a deal lost ten days ago with a marked competitor,
source and product gap, so a leak of another owner's answers shows."""

from __future__ import annotations

from typing import Any

from tests.signals.matrix_common import PAGE_ROLES_MANAGERS

ROUTES: dict[str, dict[str, Any]] = {
    "signals/winloss/": {"query": ("by=competitor", "by=source", "by=rep", "by=segment", "period=FY2025")},
    "signals/winloss/product-gaps/": {"only": PAGE_ROLES_MANAGERS, "query": ("format=xlsx",)},
    "api/v1/signals/winloss/": {"query": ("by=competitor", "by=rep")},
    "api/v1/signals/product-gaps/": {"only": PAGE_ROLES_MANAGERS},
}
OWNED_KINDS: set[str] = set()


def world(people: dict[str, Any], owned: dict[str, dict[str, Any]], shared: dict[str, Any]) -> None:
    import datetime as dt
    from decimal import Decimal

    from django.utils import timezone

    from tests.factories import DealFactory, default_stages

    lost = default_stages()["Closed Lost"]
    closed = timezone.localdate() - dt.timedelta(days=10)
    for owner in owned:
        mark = f"MARK-{owner}"
        DealFactory.create(name=f"{mark}-lostdeal", owner=people[owner], stage=lost, amount=Decimal("1234.00"),
                           close_date=closed, lost_reason="Price", lost_competitor=f"{mark}-competitor",
                           source=f"{mark}-source", product_gap=f"{mark}-gap")  # fmt: skip
