"""Commission engine benchmarks: the what-if simulator on a generated scenario, and the engine alone on a
stored-recompute-sized fiscal year with statement lines.

Both build a deterministic scenario (seeded `random.Random`, no database): directors and managers on
team plans over account executives on a quarterly plan with marginal tiers, a cap, a bonus and a spiff;
about 20 % of deals split (a few with an overlay on top), about 3 % cancelled inside or outside the
clawback window, some lost. `python -m bench.bench_simulate [people deals]` prints one run of each
without the harness.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import BenchContext, benchmark

FISCAL_YEAR = 2025
FISCAL_START_MONTH = 2  # a fiscal year that is not the calendar year, as many companies have
PRODUCTS = ["GTX Pro", "GTX Basic", "GTX Plus", "MG Special", "MG Advanced", "Alpha", "Beta", "Gamma"]

AE_PLAN: dict[str, Any] = {
    "key": "ae",
    "name": "Account Executive",
    "period": "quarter",
    "attainment_basis": "period",
    "clawback_days": 90,
    "components": [
        {
            "key": "commission",
            "type": "tiered_rate",
            "method": "marginal",
            "cap_attainment": "2.0",
            "tiers": [{"from": "0", "rate": "0.05"}, {"from": "0.5", "rate": "0.08"}, {"from": "1.0", "rate": "0.12"}],
        },
        {"key": "bonus", "type": "attainment_bonus", "threshold": "1.0", "amount": "5000"},
        {
            "key": "spiff",
            "type": "spiff",
            "product": "GTX Pro",
            "start": "2025-02-01",
            "end": "2025-07-31",
            "amount_per_deal": "250",
        },
    ],
}
MANAGER_PLAN: dict[str, Any] = {
    "key": "mgr",
    "name": "Sales Manager",
    "period": "quarter",
    "credit_scope": "team",
    "clawback_days": 60,
    "components": [
        {
            "key": "override",
            "type": "tiered_rate",
            "method": "retroactive",
            "tiers": [{"from": "0", "rate": "0.01"}, {"from": "1.0", "rate": "0.015"}],
        }
    ],
}
DIRECTOR_PLAN: dict[str, Any] = {
    "key": "dir",
    "name": "Sales Director",
    "period": "quarter",
    "credit_scope": "team",
    "components": [
        {
            "key": "override",
            "type": "tiered_rate",
            "method": "marginal",
            "cap_attainment": "1.5",
            "tiers": [{"from": "0", "rate": "0.002"}, {"from": "1.0", "rate": "0.004"}],
        }
    ],
}


def build_scenario(*, people: int, deals: int, won_share: float = 0.8, seed: int = 7) -> dict[str, Any]:
    """A scenario of `people` people (1 % directors, 9 % managers, the rest AEs) and `deals` deals over the
    four quarters of fiscal 2025."""
    rng = random.Random(seed)
    n_directors = max(1, people // 100)
    n_managers = max(1, people * 9 // 100)
    n_reps = people - n_directors - n_managers
    directors = [f"dir{i:04d}" for i in range(n_directors)]
    managers = [f"mgr{i:04d}" for i in range(n_managers)]
    reps = [f"ae{i:05d}" for i in range(n_reps)]
    rows: list[dict[str, Any]] = [{"key": d, "plan": "dir", "manager": None} for d in directors]
    rows += [{"key": m, "plan": "mgr", "manager": directors[i % n_directors]} for i, m in enumerate(managers)]
    rows += [{"key": r, "plan": "ae", "manager": managers[i % n_managers]} for i, r in enumerate(reps)]

    # Quotas sized so attainment spreads from ~0.3 to beyond the cap: about what a rep closes, ±60 %.
    per_rep_quarter = deals * won_share / n_reps / 4 * 30_000
    quotas: list[dict[str, Any]] = []
    rep_quota = {r: round(per_rep_quarter * rng.uniform(0.6, 1.6), -3) for r in reps}
    team_quota = [0.0] * n_managers
    for j, r in enumerate(reps):
        team_quota[j % n_managers] += rep_quota[r]
    for quarter in range(1, 5):
        period = f"{FISCAL_YEAR}-Q{quarter}"
        for r in reps:
            quotas.append({"rep": r, "period": period, "amount": f"{rep_quota[r]:.2f}"})
        for i, m in enumerate(managers):
            quotas.append({"rep": m, "period": period, "amount": f"{team_quota[i] * 0.9:.2f}"})
        team_total = sum(rep_quota.values()) / n_directors
        for d in directors:
            quotas.append({"rep": d, "period": period, "amount": f"{team_total * 0.95:.2f}"})

    start = dt.date(FISCAL_YEAR, FISCAL_START_MONTH, 1)
    days = (dt.date(FISCAL_YEAR + 1, FISCAL_START_MONTH, 1) - start).days
    deal_rows: list[dict[str, Any]] = []
    for i in range(deals):
        owner = reps[rng.randrange(n_reps)]
        close = start + dt.timedelta(days=rng.randrange(days))
        deal: dict[str, Any] = {
            "key": f"D{i:07d}",
            "owner": owner,
            "amount": f"{rng.randrange(1_000, 60_000)}.{rng.randrange(100):02d}",
            "close_date": close.isoformat(),
            "product": PRODUCTS[rng.randrange(len(PRODUCTS))],
            "stage": "won" if rng.random() < won_share else "lost",
        }
        roll = rng.random()
        if roll < 0.20:
            other = reps[rng.randrange(n_reps)]
            if other != owner:
                share = rng.choice(["50", "60", "70", "33.33"])
                deal["splits"] = [
                    {"rep": owner, "percent": share},
                    {"rep": other, "percent": f"{100 - float(share):g}"},
                ]
                if roll < 0.03:
                    deal["splits"].append(
                        {"rep": managers[rng.randrange(n_managers)], "percent": "10", "overlay": True}
                    )
        if rng.random() < 0.03:
            deal["cancelled_on"] = (close + dt.timedelta(days=rng.randrange(0, 150))).isoformat()
        deal_rows.append(deal)
    return {
        "currency": "USD",
        "fiscal_year_start_month": FISCAL_START_MONTH,
        "plans": [AE_PLAN, MANAGER_PLAN, DIRECTOR_PLAN],
        "reps": rows,
        "quotas": quotas,
        "deals": deal_rows,
    }


@functools.cache
def _scenario(people: int, deals: int, won_share: float) -> dict[str, Any]:
    """Built once per process: the harness warms up and repeats each benchmark on the same scenario."""
    return build_scenario(people=people, deals=deals, won_share=won_share)


def time_simulate_command(scenario: dict[str, Any]) -> tuple[float, int]:
    """Write the scenario to a temp file and time `manage.py simulate_commissions` in-process."""
    from django.core.management import call_command

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.json"
        path.write_text(json.dumps(scenario), encoding="utf-8")
        out = io.StringIO()
        started = time.perf_counter()
        call_command("simulate_commissions", str(path), stdout=out)
        elapsed = time.perf_counter() - started
    return elapsed, len(json.loads(out.getvalue())["payouts"])


@benchmark(
    name="simulate_commissions, 1,000 people × 4 quarters × 50,000 deals",
    unit="s",
    target=5,
    repeat=3,
    issue="incentives",
    description="Full command path in-process: read and validate the JSON, run the engine, print the output JSON.",
)
def simulate_commissions_1000(ctx: BenchContext) -> dict[str, Any]:
    elapsed, payouts = time_simulate_command(_scenario(1_000, 50_000, 0.8))
    return {"value": elapsed, "people": 1_000, "deals": 50_000, "payouts": payouts}


def time_engine_with_lines(scenario: dict[str, Any]) -> tuple[float, int, int]:
    """Time the engine alone (input already built, as the stored path has it) with statement lines."""
    from incentives.engine import compute
    from incentives.scenario import parse_scenario

    data = parse_scenario(scenario)
    started = time.perf_counter()
    result = compute(data, lines=True)
    elapsed = time.perf_counter() - started
    return elapsed, len(result.results), sum(len(r.lines) for r in result.results)


@benchmark(
    name="commission engine, fiscal year with statement lines: 2,000 people × 400,000 won deals",
    unit="s",
    target=None,  # report only: the stored recompute (≤ 10 s) adds loading and writing around it
    repeat=1,
    issue="incentives",
    description="compute(lines=True) on one fiscal year (4 quarters), input already parsed; no JSON, no database.",
)
def engine_fiscal_year_2000(ctx: BenchContext) -> dict[str, Any]:
    elapsed, payouts, lines = time_engine_with_lines(_scenario(2_000, 400_000, 1.0))
    return {"value": elapsed, "people": 2_000, "deals": 400_000, "payouts": payouts, "statement_lines": lines}


if __name__ == "__main__":  # pragma: no cover - a manual run: python -m bench.bench_simulate [people deals]
    import os
    import sys

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesops.settings.bench")
    django.setup()
    n_people, n_deals = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) > 2 else (1_000, 50_000)
    seconds, rows = time_simulate_command(build_scenario(people=n_people, deals=n_deals))
    print(f"simulate_commissions {n_people} people, {n_deals} deals: {seconds:.2f} s, {rows} payouts")
    seconds, rows, n_lines = time_engine_with_lines(
        build_scenario(people=2 * n_people, deals=8 * n_deals, won_share=1.0)
    )
    print(f"engine with lines, {2 * n_people} people, {8 * n_deals} won deals: {seconds:.2f} s, {n_lines} lines")
