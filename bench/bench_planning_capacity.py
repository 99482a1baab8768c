"""Planning benchmark on the generated company: capacity and a top-down allocation of next fiscal year's
target for everyone (issue 15: 2,000 people ≤ 2 s at enterprise scale).

Measured as a planner waits for "Compute" on a scenario, through the product's own path without the write:
`planning.selectors.scenarios.scenario_facts` (the sales tree, ramps, and each rep's credited bookings month by
month over the last four closed quarters, one query), the scenario JSON the service builds
(`planning.services.scenarios.scenario_json_of`), then `planning.engine.scenario_json` parses and runs it:
productivity, capacity by quarter, the top-down allocation by trailing bookings with a 10 % uplift at the top,
every person's annual number split over the quarters. Nothing is written. `engine_s` is the pure part alone.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from typing import Any

from bench.harness import BenchContext, benchmark
from planning.engine import scenario_json
from planning.models import QuotaScenario
from planning.selectors.scenarios import scenario_facts
from planning.services.scenarios import scenario_json_of
from salesops.kernel.fiscal import fiscal_year_of
from salesops.org.selectors import fiscal_calendar

GROWTH = Decimal("1.2")  # next year's target: 20 % above the trailing year's bookings
INPUTS = {"attainment": "0.85", "attrition": "0.12", "uplift": ["0.10"]}


def _plan(today: dt.date) -> dict[str, Any]:
    facts = scenario_facts(today=today)
    trailing = sum((facts.trailing(pid) for pid in facts.people), Decimal(0))
    next_year = fiscal_year_of(today, fiscal_calendar().fiscal_year_start_month) + 1
    scenario = QuotaScenario(
        name="bench", fiscal_year=next_year, method="top_down", basis="trailing_bookings",
        target=(trailing * GROWTH).quantize(Decimal("0.01")), inputs=INPUTS,
    )  # fmt: skip
    return {"json": scenario_json_of(scenario, facts, {}), "people": len(facts.people), "months": len(facts.bookings)}


def _engine(plan: dict[str, Any]) -> dict[str, Any]:
    return scenario_json.run(scenario_json.parse(plan["json"]))


@benchmark(
    name="planning: capacity and top-down allocation for 2,000 people",
    unit="s",
    target=2.0,
    repeat=3,
    issue="15",
    description="a scenario's Compute without the write: the sales tree and four closed quarters of rep-month "
    "bookings through the selectors, the scenario JSON, productivity, capacity by quarter, top-down by trailing "
    "bookings (10 % uplift at the top), every number split over quarters",
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
        "people": plan["people"],
        "rep_months": plan["months"],
        "quotas": len(out["quotas"]),
    }
