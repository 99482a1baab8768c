"""The demo company's planning: an active territory model (a region per demo region, countries split between
them, a named account, an industry carve-out) and a draft copy with a move being tried; two quota scenarios
for next fiscal year (one published into the quotas of the incentives app, one draft); and a stress test of
a draft plan over the current quarter's open pipeline. Dated from `today`, like the rest of the demo."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from planning.services import territories as territory_services
from salesops.org.demo import DemoOrg

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


def seed_planning(*, org: DemoOrg, seed: int, today: dt.date) -> Result:
    """Everything planning shows in the demo (see the module's docstring)."""
    result = Result()
    _seed_territories(org, today, result)
    return result
