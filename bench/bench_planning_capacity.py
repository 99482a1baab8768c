"""Planning benchmark on the generated company: capacity and a top-down allocation of next fiscal year's
target for everyone (issue 15: 2,000 people ≤ 2 s at enterprise scale).

Measured as a planner would wait for it: the inputs read through the selectors (people and their reports-to
tree, each rep's credited bookings month by month over the last four closed quarters through
`pipeline.selectors.credits_by_deal_type`), productivity from those rep-months, capacity by quarter, the
top-down allocation by trailing bookings with a 10 % manager uplift, and every person's annual number split
over the quarters. Nothing is written. `engine_s` is the pure part alone.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Q

from bench.harness import BenchContext, benchmark
from pipeline.selectors import credits_by_deal_type
from planning.engine import allocation
from planning.engine.capacity import RepMonth, Seller, capacity, productivity, ramp_share
from salesops.kernel.fiscal import period_at, period_of
from salesops.org.models import User
from salesops.org.selectors import fiscal_calendar

RAMP = (Decimal("0.25"), Decimal("0.5"), Decimal("0.75"))  # a typical three-month ramp for every rep
ATTAINMENT = Decimal("0.85")
ATTRITION = Decimal("0.12")
GROWTH = Decimal("1.2")  # next year's target: 20 % above the trailing year's bookings


def _plan(today: dt.date) -> dict[str, Any]:
    start_month = fiscal_calendar().fiscal_year_start_month
    current = period_of(start_month, "quarter", today)
    closed = []
    fiscal_year, index = current.fiscal_year, current.index
    for _ in range(4):
        fiscal_year, index = (fiscal_year, index - 1) if index else (fiscal_year - 1, 3)
        closed.append(period_at(start_month, "quarter", fiscal_year, index))
    closed.reverse()

    people = list(
        User.objects.filter(Q(is_rep=True) | Q(is_manager=True), is_active=True)
        .order_by("pk")
        .values_list("pk", "manager_id", "start_date", "end_date", "is_rep")
    )
    ids = {pk for pk, *_ in people}
    sellers = [
        Seller(str(pk), str(manager) if manager in ids else None, start, end, RAMP, is_rep)
        for pk, manager, start, end, is_rep in people
    ]
    by_id = {s.id: s for s in sellers}
    reps = [pk for pk, *_, is_rep in people if is_rep]
    history: list[RepMonth] = []
    trailing: dict[str, Decimal] = defaultdict(Decimal)
    for quarter in closed:
        month = quarter.start
        while month <= quarter.end:
            end = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
            booked: dict[str, Decimal] = defaultdict(Decimal)
            for credit in credits_by_deal_type(reps, month, end):
                if not credit.overlay:
                    booked[str(credit.person_id)] += credit.amount
            for pk in reps:
                seller = by_id[str(pk)]
                history.append(RepMonth(seller.id, month, ramp_share(seller.start, RAMP, month), booked[seller.id]))
                trailing[seller.id] += booked[seller.id]
            month = end + dt.timedelta(days=1)
    next_year = current.fiscal_year + 1
    return {
        "sellers": sellers,
        "history": history,
        "trailing": trailing,
        "periods": [period_at(start_month, "quarter", next_year, i) for i in range(4)],
        "target": allocation.round_cents(sum(trailing.values(), Decimal(0)) * GROWTH),
    }


def _engine(plan: dict[str, Any]) -> dict[str, Any]:
    sellers: list[Seller] = plan["sellers"]
    p = productivity(plan["history"])
    result = capacity(sellers, [], plan["periods"], productivity=p, attainment=ATTAINMENT, attrition=ATTRITION)
    parents = {s.id: s.manager for s in sellers}
    seller_ids = {s.id for s in sellers if s.is_seller}
    annual = allocation.top_down(parents, seller_ids, plan["target"], plan["trailing"], {0: Decimal("0.10")})
    weights = {p.label: Decimal(1) for p in plan["periods"]}
    quotas = {pid: allocation.by_period(number, weights) for pid, number in annual.items()}
    return {"capacity": result.total, "quotas": quotas, "productivity": p}


@benchmark(
    name="planning: capacity and top-down allocation for 2,000 people",
    unit="s",
    target=2.0,
    repeat=3,
    issue="15",
    description="people and four closed quarters of rep-month bookings through selectors; productivity, capacity "
    "by quarter, top-down by trailing bookings (10 % uplift), every number split over quarters",
)
def capacity_and_top_down(ctx: BenchContext) -> dict[str, Any]:
    today = dt.date.fromisoformat(ctx.facts["today"]) if "today" in ctx.facts else dt.date.today()
    started = time.perf_counter()
    plan = _plan(today)
    loaded = time.perf_counter()
    out = _engine(plan)
    finished = time.perf_counter()
    return {
        "value": finished - started,
        "load_s": round(loaded - started, 3),
        "engine_s": round(finished - loaded, 3),
        "people": len(plan["sellers"]),
        "rep_months": len(plan["history"]),
        "quotas": len(out["quotas"]),
    }
