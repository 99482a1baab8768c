"""The one plan module (incentives/plans.py): a plan's JSON parses into the engine's types and writes back
unchanged (hypothesis), and a malformed plan is refused with a message naming the plan, the component and
the tier. Plain Python: no database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incentives.engine import AttainmentBonus, Component, Draw, Plan, Spiff, Tier, TieredRate
from incentives.plans import PlanError, ScenarioError, parse_plan, plan_to_json

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

keys = st.from_regex(r"[a-z][a-z0-9_-]{0,11}", fullmatch=True)
amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)
fractions = st.decimals(min_value=0, max_value=5, places=6, allow_nan=False, allow_infinity=False)
days = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31))


@st.composite
def tiered_rates(draw: st.DrawFn, key: str) -> TieredRate:
    starts = draw(st.lists(fractions.filter(lambda d: d > 0), max_size=4, unique=True))
    tiers = tuple(Tier(start, draw(fractions)) for start in [Decimal(0), *sorted(starts)])
    cap = draw(st.none() | fractions.filter(lambda d: d > 0))
    return TieredRate(key, tiers, draw(st.sampled_from(["marginal", "retroactive"])), cap)


@st.composite
def spiffs(draw: st.DrawFn, key: str) -> Spiff:
    start, end = sorted([draw(days), draw(days)])
    return Spiff(key, draw(st.text(min_size=0, max_size=20)), start, end, draw(amounts))


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    component_keys = draw(st.lists(keys, max_size=4, unique=True))
    components: list[Component] = []
    for key in component_keys:
        kind = draw(st.sampled_from(["tiered_rate", "attainment_bonus", "spiff"]))
        if kind == "tiered_rate":
            components.append(draw(tiered_rates(key)))
        elif kind == "attainment_bonus":
            components.append(AttainmentBonus(key, draw(fractions), draw(amounts)))
        else:
            components.append(draw(spiffs(key)))
    return Plan(
        key=draw(keys),
        period=draw(st.sampled_from(["month", "quarter"])),
        components=tuple(components),
        attainment_basis=draw(st.sampled_from(["period", "ytd"])),
        credit_scope=draw(st.sampled_from(["individual", "team"])),
        clawback_days=draw(st.none() | st.integers(min_value=0, max_value=365)),
        draw=draw(st.none() | st.builds(Draw, amounts, st.booleans())),
        name=draw(st.text(max_size=30)),
    )


@PROPERTY_SETTINGS
@given(plans())
def test_json_to_types_to_json_gives_the_same_json(plan):
    # Through the text a file or a JSONField holds, so the JSON is what a stored plan really is.
    stored = json.loads(json.dumps(plan_to_json(plan)))
    parsed = parse_plan(stored)
    assert parsed == plan
    assert plan_to_json(parsed) == stored


@PROPERTY_SETTINGS
@given(plans())
def test_the_builders_compact_json_parses_to_the_same_plan(plan):
    compact = json.loads(json.dumps(plan_to_json(plan, compact=True)))
    assert "key" not in compact and "name" not in compact  # the version carries them
    # Same numbers (Decimal compares by value: "0.10" and "0.1" are one rate), same everything else.
    assert parse_plan(compact, key=plan.key) == dataclasses.replace(plan, name="")
    if plan.credit_scope == "individual":
        assert "credit_scope" not in compact
    if plan.clawback_days is None:
        assert "clawback_days" not in compact


def test_compact_numbers_have_no_trailing_zeros():
    plan = parse_plan(
        {
            "key": "ae",
            "period": "quarter",
            "draw": {"amount": "1000.00"},
            "components": [
                {
                    "key": "c",
                    "type": "tiered_rate",
                    "cap_attainment": "2.0",
                    "tiers": [{"from": "0", "rate": "0.050"}, {"from": "1.00", "rate": "0.10"}],
                },
            ],
        }
    )
    assert plan_to_json(plan, compact=True) == {
        "period": "quarter",
        "attainment_basis": "period",
        "draw": {"amount": "1000", "recoverable": False},
        "components": [
            {"key": "c", "type": "tiered_rate", "method": "marginal", "cap_attainment": "2",
             "tiers": [{"from": "0", "rate": "0.05"}, {"from": "1", "rate": "0.1"}]},
        ],
    }  # fmt: skip
    # In full the numbers stay as written, for an export to post back as it was.
    assert plan_to_json(plan)["components"][0]["tiers"][1] == {"from": "1.00", "rate": "0.10"}


def test_a_stored_version_is_parsed_under_its_plans_key():
    stored = {"key": "old", "period": "month", "components": []}
    assert parse_plan(stored, key="ae-2026").key == "ae-2026"
    assert parse_plan(stored).key == "old"


def _tiered(*tiers: object, **fields: object) -> dict[str, object]:
    return {"key": "ae", "period": "quarter",
            "components": [{"key": "commission", "type": "tiered_rate", "tiers": list(tiers), **fields}]}  # fmt: skip


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (None, "plan: must be a JSON object"),
        ({"key": "ae", "period": "quarter", "bonus": 1}, "plan ae: unknown field 'bonus'"),
        ({"key": "ae", "period": "year"}, "plan ae: period must be one of 'quarter', 'month', not 'year'"),
        ({"key": "ae", "period": "quarter", "components": {}}, "plan ae: components: must be a JSON list"),
        ({"key": "ae", "period": "quarter", "components": [7]}, "plan ae: component #1: must be a JSON object"),
        ({"key": "ae", "period": "quarter", "components": [{"type": "spiff"}]},
         "plan ae: component #1: needs a key (a non-empty string)"),
        ({"key": "ae", "period": "quarter", "components": [{"key": "x", "type": "flat"}]},
         "plan ae: component 'x': type must be 'tiered_rate', 'attainment_bonus' or 'spiff', not 'flat'"),
        (_tiered({"from": "0", "rate": "0.05"}, cap="2"), "plan ae: component 'commission': unknown field 'cap'"),
        (_tiered({"from": "0", "rate": "0.05"}, {"from": "1", "rate": "ten"}),
         "plan ae: component 'commission': tier #2: rate 'ten' is not a number"),
        (_tiered({"from": "0", "rate": "0.05"}, {"from": "1", "rate": "0.1", "to": "2"}),
         "plan ae: component 'commission': tier #2 has an unknown field 'to'"),
        (_tiered({"from": "0", "rate": "0.05"}, {"rate": "0.1"}),
         "plan ae: component 'commission': tier #2: from is missing"),
        (_tiered({"from": "0", "rate": "0.05"}, "1"), "plan ae: component 'commission': tier #2: must be a JSON object"),
        (_tiered({"from": "0", "rate": "0.05"}, {"from": "1", "rate": "1e-20"}),
         "plan ae: component 'commission': tier #2: rate '1e-20' has more than 12 decimals"),
        (_tiered({"from": "0", "rate": "0.05"}, {"from": "0", "rate": "0.1"}),
         "plan ae: tiers must strictly increase ('commission')"),
        (_tiered({"from": "0", "rate": "-0.05"}), "plan ae: rate -0.05 of 'commission' is negative"),
        (_tiered({"from": "0.5", "rate": "0.05"}), "plan ae: the first tier of 'commission' must start at from 0"),
        (_tiered(), "plan ae: the tier list of 'commission' is empty"),
        (_tiered({"from": "0", "rate": "0.05"}, method="flat"),
         "plan ae: component 'commission': method must be one of 'marginal', 'retroactive', not 'flat'"),
        ({"key": "ae", "period": "quarter", "components": [
            {"key": "b", "type": "attainment_bonus", "threshold": "1", "amount": "5"},
            {"key": "b", "type": "attainment_bonus", "threshold": "2", "amount": "5"}]},
         "plan ae: two components are called 'b'"),
        ({"key": "ae", "period": "quarter", "components": [
            {"key": "s", "type": "spiff", "product": "P", "start": "2025-02-30", "end": "2025-03-31",
             "amount_per_deal": "1"}]},
         "plan ae: component 's': start '2025-02-30' is not a date"),
        ({"key": "ae", "period": "quarter", "components": [
            {"key": "s", "type": "spiff", "product": "P", "start": "2025-04-01", "end": "2025-03-31",
             "amount_per_deal": "1"}]},
         "plan ae: spiff 's' ends (2025-03-31) before it starts (2025-04-01)"),
        ({"key": "ae", "period": "quarter", "draw": {"amount": "1", "recoverable": "yes"}},
         "plan ae: draw.recoverable must be true or false"),
    ],
)  # fmt: skip
def test_a_malformed_plan_is_refused_naming_the_plan_component_and_tier(record, message):
    with pytest.raises(PlanError) as raised:
        parse_plan(record)
    assert str(raised.value) == message
    assert isinstance(raised.value, ScenarioError)  # a scenario holding the plan is refused with it


def test_the_scenario_and_the_plan_save_use_this_parser():
    from incentives import scenario

    assert scenario.validate_plan is parse_plan
    assert scenario.PlanError is PlanError and scenario.ScenarioError is ScenarioError
