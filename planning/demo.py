"""The demo company's planning: an active territory model (a region per demo region, countries split between
them, a named account, an industry carve-out) and a draft copy with a move being tried; two quota scenarios
for next fiscal year (one published into the quotas of the incentives app, one draft); and a stress test of
a draft plan over the current quarter's open pipeline. Dated from `today`, like the rest of the demo."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from planning.services import scenarios as scenario_services
from planning.services import stress as stress_services
from planning.services import territories as territory_services
from salesops.kernel.fiscal import fiscal_year_of, period_label
from salesops.org.demo import DemoOrg
from salesops.org.selectors import fiscal_calendar

# Countries of the demo accounts (pipeline.demo.COUNTRIES), split over the three demo regions.
REGION_COUNTRIES = {
    "East": ["United States", "Canada"],
    "Central": ["United Kingdom", "Germany", "France", "Netherlands"],
    "West": ["Australia"],
}


@dataclass
class Result:
    territory_models: int = 0
    territories: int = 0
    accounts_assigned: int = 0
    scenarios: list[str] = field(default_factory=list)
    stress_tests: int = 0
    notes: list[str] = field(default_factory=list)


def _seed_territories(org: DemoOrg, today: dt.date, result: Result) -> None:
    from planning.selectors.territories import territory_defs

    ops = org.ops
    assert ops is not None
    model = territory_services.territory_model_create(actor=ops, name=f"Territories {today.year}", root_name="Company")
    root = next(t for t in territory_defs(model.pk) if t.parent is None)
    managers_by_region: dict[str, list[Any]] = {}
    for manager in org.managers:
        team = getattr(manager, "team", None)
        region = getattr(getattr(team, "region", None), "name", None)
        managers_by_region.setdefault(region or "", []).append(manager)
    for region in org.regions:
        owners = managers_by_region.get(region.name) or org.managers[:1]
        territory = territory_services.territory_create(
            actor=ops, model_id=model.pk, parent_id=root.id, name=region.name, owner_id=owners[0].pk
        )
        territory_services.territory_rule_set(
            actor=ops, territory_id=territory.pk, kind="region", values=REGION_COUNTRIES.get(region.name, [])
        )
        result.territories += 1
        if region.name == "East" and len(owners) > 1:
            # Public sector in the East has a territory of its own, under the region.
            carve = territory_services.territory_create(
                actor=ops, model_id=model.pk, parent_id=territory.pk, name="East public sector", owner_id=owners[1].pk
            )
            territory_services.territory_rule_set(actor=ops, territory_id=carve.pk, kind="region",
                                                  values=REGION_COUNTRIES["East"])  # fmt: skip
            territory_services.territory_rule_set(actor=ops, territory_id=carve.pk, kind="industry",
                                                  values=["Public Sector", "Education"])  # fmt: skip
            result.territories += 1
    assigned = territory_services.territory_assign(actor=ops, model_id=model.pk)
    result.accounts_assigned = assigned.accounts
    territory_services.territory_model_activate(actor=ops, model_id=model.pk, today=today)
    result.territory_models += 1
    # Next year's draft, copied from the live one: sales ops are trying a move before it goes live.
    draft = territory_services.territory_model_copy(
        actor=ops, model_id=model.pk, name=f"Territories {today.year + 1} (draft)"
    )
    territory_services.territory_assign(actor=ops, model_id=draft.pk)
    result.territory_models += 1


def _seed_scenarios(org: DemoOrg, today: dt.date, result: Result) -> None:
    """Next fiscal year: a top-down scenario at 15 % above the bottom-up capacity, approved and published, and a
    bottom-up one from capacity left as a draft beside it."""
    ops = org.ops
    assert ops is not None
    next_year = fiscal_year_of(today, fiscal_calendar().fiscal_year_start_month) + 1
    inputs = {"attainment": "0.85", "attrition": "0.10", "uplift": ["0", "0.10", "0.05"]}
    bottom_up = scenario_services.scenario_create(
        actor=ops, name=f"FY{next_year} from capacity", fiscal_year=next_year, method="bottom_up", inputs=inputs,
        today=today,
    )  # fmt: skip
    result.scenarios.append(bottom_up.name)
    bottom_up.refresh_from_db()
    capacity = (bottom_up.result or {}).get("capacity")
    target = Decimal(str(capacity)) * Decimal("1.15") if capacity else Decimal("12000000")
    top_down = scenario_services.scenario_create(
        actor=ops, name=f"FY{next_year} plan (+15 %)", fiscal_year=next_year, method="top_down",
        basis="trailing_bookings", target=target.quantize(Decimal("1000")), inputs=inputs, today=today,
    )  # fmt: skip
    scenario_services.scenario_approve(actor=ops, scenario=top_down)
    scenario_services.scenario_publish(actor=ops, scenario=top_down)
    result.scenarios.append(top_down.name)


def _seed_stress_test(org: DemoOrg, today: dt.date, result: Result) -> None:
    """A draft of the Account Executive plan with a steeper top tier, run over this quarter's open pipeline."""
    from incentives.selectors import plan_version_on

    ops = org.ops
    assert ops is not None
    version = next((v for rep in org.reps if (v := plan_version_on(rep.pk, today)) is not None), None)
    if version is None:
        result.notes.append("no live plan to stress-test")
        return
    draft = json.loads(json.dumps(version.definition))
    for component in draft.get("components", []):
        if component.get("type") == "tiered_rate" and component.get("tiers"):
            top = component["tiers"][-1]
            top["rate"] = str((Decimal(str(top["rate"])) * Decimal("1.25")).quantize(Decimal("0.0001")))
    period = period_label(today, draft.get("period", "quarter"), fiscal_calendar().fiscal_year_start_month)
    test = stress_services.stress_test_create(
        actor=ops, name="Steeper top tier", plan_definition=draft, period=period, outcomes=300, seed=7,
    )  # fmt: skip
    stress_services.stress_test_execute(test_id=test.pk)  # run now: the demo shows its result at once
    result.stress_tests += 1


def seed_planning(*, org: DemoOrg, seed: int, today: dt.date) -> Result:
    """Everything planning shows in the demo (see the module's docstring)."""
    result = Result()
    _seed_territories(org, today, result)
    _seed_scenarios(org, today, result)
    _seed_stress_test(org, today, result)
    return result
