"""Planning benchmark: a stress test of 1,000 outcomes of a quarter's open pipeline over everyone on a plan.

It runs what the stress test's Celery task runs (planning.services.stress: load the inputs, simulate and pay
every outcome, the weighted forecast through the full engine, the summary), on an unsaved test, so nothing is
written. The quarter is the one holding `today` (the one whose open pipeline the data has most of).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from bench.harness import BenchContext, benchmark

OUTCOMES = 1000


@benchmark(
    name="planning: stress test, 1,000 outcomes, 2,000 people, a quarter's open pipeline",
    unit="s",
    target=30,
    repeat=1,
    issue="a stress test of 1,000 outcomes for 2,000 people and a quarter's open pipeline ≤ 30 s",
    description="planning.services.stress.stress_result(stress_input(test)) for an unsaved test of the live "
    "account executive plan (held, for the test, by everyone on a plan) on the quarter of `today`: loading "
    "the people, plans, quotas, the fiscal year's won deals and the quarter's open deals, one engine run on what "
    "is won, 1,000 outcomes paid, the weighted forecast through the full engine, and the summary.",
)
def stress_test(ctx: BenchContext) -> dict[str, Any]:
    from incentives import selectors as incentives_selectors
    from planning.engine import stress
    from planning.models import StressTest
    from planning.selectors.stress import fiscal_calendar_engine
    from planning.services.stress import stress_input

    today = dt.date.fromisoformat(ctx.facts.get("today", dt.date.today().isoformat()))
    period = fiscal_calendar_engine().period_of("quarter", today)
    plans = incentives_selectors.plans_in_effect(period.start, period.end)
    plan = max(plans, key=lambda p: len(p.holders))  # the account executives' plan
    test = StressTest(name="bench", plan_definition=plan.definition, period=period.label, outcomes=OUTCOMES, seed=1)
    started = time.perf_counter()
    data = stress_input(test)
    loaded = time.perf_counter()
    result = stress.run(data)
    simulated = time.perf_counter()
    weighted = stress.reference_payouts(data, stress.weighted_amounts(data))
    weighed = time.perf_counter()
    summary = stress.summarise(result, weighted=weighted)
    finished = time.perf_counter()
    cost_p50 = float(summary["cost"]["p50"])
    forecast = float(summary["weighted_cost"])
    return {
        "value": finished - started,
        "period": period.label,
        "people paid": summary["people"],
        "open deals": len(data.open_deals),
        "won deals": len(data.base.deals),
        "load_s": round(loaded - started, 2),
        "simulate_s": round(simulated - loaded, 2),
        "weighted_forecast_s": round(weighed - simulated, 2),
        "median vs weighted forecast": f"{(cost_p50 - forecast) / forecast:+.2%}" if forecast else "n/a",
    }
