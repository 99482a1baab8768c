"""A small, exactly known book of deals for the reporting tests (fiscal year = calendar year).

Quarter 2026-Q1, with the `org` fixture's people (rep_a, rep_b under manager_east in East; rep_c under
manager_west in West):

| deal | owner | outcome | amount | created → closed | credit |
|---|---|---|---:|---|---|
| A1 | rep_a | won | 10,000 | 2026-01-01 → 2026-02-10 (40 d) | rep_a 100 % |
| A2 | rep_a | won | 30,000 | 2026-02-03 → 2026-03-05 (30 d) | rep_a 50 %, rep_c 50 % (+ rep_b 10 % overlay) |
| A3 | rep_a | lost | 0 | → 2026-02-20 | |
| A4 | rep_a | open, Proposal (60 %) | 50,000 | closes 2026-03-20, pushed twice in Q1 | |
| B1 | rep_b | won | 20,000 | 2025-12-16 → 2026-01-15 (30 d) | rep_b |
| B2, B3 | rep_b | lost | 0 | → 2026-01-20, 2026-03-10 | |
| C1 | rep_c | won | 5,000 | 2026-03-01 → 2026-03-31 (30 d) | rep_c |
| C2 | rep_c | open, Discovery (40 %) | 10,000 | closes 2026-04-15 | |
| P1 | rep_a | won | 8,000 | 2025-11-10 → 2025-12-10 (30 d) | rep_a (previous quarter) |

2026-Q1: bookings 65,000 (rep_a 25,000, rep_b 20,000, rep_c 20,000; East 45,000, West 20,000); won 4,
lost 3; cycle days 40, 30, 30, 30 (mean 32.5, median 30); open pipeline 50,000, weighted 30,000.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pipeline.models import Deal, Product, Stage
from reporting.refresh import refresh_changed
from tests.conftest import Org
from tests.factories import ProductFactory, default_stages
from tests.reporting.books import make_deal


@dataclass
class Book:
    org: Org
    stages: dict[str, Stage]
    deals: dict[str, Deal]
    products: dict[str, Product]


@pytest.fixture
def book(org: Org) -> Book:
    s = default_stages()
    pro, won, lost = s["Prospecting"], s["Closed Won"], s["Closed Lost"]
    qual, disc, prop = s["Qualification"], s["Discovery"], s["Proposal"]
    core = ProductFactory.create(name="Core")
    addon = ProductFactory.create(name="Add-on")
    a, b, c = org.rep_a, org.rep_b, org.rep_c
    deals = {
        "A1": make_deal(
            owner=a,
            stage=won,
            amount="10000",
            close="2026-02-10",
            created="2026-01-01",
            product=core,
            path=[(pro, "2026-01-01"), (qual, "2026-01-11"), (won, "2026-02-10")],
        ),
        "A2": make_deal(
            owner=a,
            stage=won,
            amount="30000",
            close="2026-03-05",
            created="2026-02-03",
            product=addon,
            path=[(pro, "2026-02-03"), (qual, "2026-02-05"), (prop, "2026-02-15"), (won, "2026-03-05")],
            splits=[(a, "50", False), (c, "50", False), (b, "10", True)],
        ),
        "A3": make_deal(
            owner=a,
            stage=lost,
            amount="0",
            close="2026-02-20",
            created="2026-01-05",
            product=core,
            path=[(pro, "2026-01-05"), (qual, "2026-01-09"), (lost, "2026-02-20")],
        ),
        "A4": make_deal(
            owner=a,
            stage=prop,
            amount="50000",
            close="2026-03-20",
            created="2026-01-10",
            product=core,
            path=[(pro, "2026-01-10"), (qual, "2026-01-12"), (disc, "2026-01-20"), (prop, "2026-01-30")],
            pushes=[("2026-02-01", "2026-02-28", "2026-01-25"), ("2026-02-28", "2026-03-20", "2026-02-25")],
        ),
        "B1": make_deal(
            owner=b,
            stage=won,
            amount="20000",
            close="2026-01-15",
            created="2025-12-16",
            product=core,
            path=[(pro, "2025-12-16"), (won, "2026-01-15")],
        ),
        "B2": make_deal(
            owner=b,
            stage=lost,
            amount="0",
            close="2026-01-20",
            created="2026-01-02",
            path=[(pro, "2026-01-02"), (lost, "2026-01-20")],
        ),
        "B3": make_deal(
            owner=b,
            stage=lost,
            amount="0",
            close="2026-03-10",
            created="2026-02-01",
            path=[(pro, "2026-02-01"), (qual, "2026-02-11"), (lost, "2026-03-10")],
        ),
        "C1": make_deal(
            owner=c,
            stage=won,
            amount="5000",
            close="2026-03-31",
            created="2026-03-01",
            product=addon,
            path=[(pro, "2026-03-01"), (won, "2026-03-31")],
        ),
        "C2": make_deal(
            owner=c,
            stage=disc,
            amount="10000",
            close="2026-04-15",
            created="2026-03-02",
            path=[(pro, "2026-03-02"), (disc, "2026-03-12")],
        ),
        "P1": make_deal(
            owner=a,
            stage=won,
            amount="8000",
            close="2025-12-10",
            created="2025-11-10",
            product=core,
            path=[(pro, "2025-11-10"), (won, "2025-12-10")],
        ),
    }
    refresh_changed()
    return Book(org=org, stages=s, deals=deals, products={"core": core, "addon": addon})
