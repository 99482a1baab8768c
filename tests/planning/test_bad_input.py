"""Bad input to the planning pages and API answers a clear message (400 or 404), never a 500: huge scenario
targets and productivity overrides, extreme scenario inputs (an attainment of 10,000,000, dates in the year
9999, a bottom-up quota past the quota rule), non-numeric ids in paths, an unbounded stress-test seed, and
digits that str.isdigit accepts but int() refuses ('²')."""

from __future__ import annotations

import datetime as dt
import html
import json

import pytest

from planning.models import QuotaScenario, StressTest
from salesops import limits
from tests.planning.test_scenarios import make
from tests.planning.test_stress import PLAN, Q

pytestmark = pytest.mark.django_db

SCENARIOS = "/api/v1/planning/scenarios/"
SUPERSCRIPT_TWO = "\u00b2"  # '²': str.isdigit() says yes, int() says no


def _api_scenario(name: str, **kw):
    return {"name": name, "fiscal_year": 2027, "method": "top_down", "basis": "equal", "target": "1000.00", **kw}


@pytest.mark.parametrize("target", ["1e30", "1e14", "100000000000000.00"])
def test_api_huge_target_is_400_with_a_message(org, api_client_for, target) -> None:
    answer = api_client_for(org.ops).post(SCENARIOS, _api_scenario("Huge", target=target), format="json")
    assert answer.status_code == 400
    assert "target" in json.dumps(answer.json())
    assert not QuotaScenario.objects.filter(name="Huge").exists()


def test_api_huge_productivity_override_is_400_with_the_quota_rule(org, api_client_for) -> None:
    body = _api_scenario("Huge productivity", inputs={"productivity": "1e30"})
    answer = api_client_for(org.ops).post(SCENARIOS, body, format="json")
    assert answer.status_code == 400 and limits.QUOTA_RULE in json.dumps(answer.json())
    body = _api_scenario("Bad productivity", inputs={"productivity": "lots"})
    answer = api_client_for(org.ops).post(SCENARIOS, body, format="json")
    assert answer.status_code == 400 and "not an amount" in json.dumps(answer.json())


@pytest.mark.parametrize(
    ("target", "inputs", "message"),
    [
        ("1e30", "{}", limits.QUOTA_RULE),
        ("100000000000000", "{}", limits.QUOTA_RULE),
        ("1e-30", "{}", "not an amount in cents"),
        ("1000.00", '{"productivity": "1e30"}', limits.QUOTA_RULE),
        ("1000.00", '{"productivity": 1e300}', limits.QUOTA_RULE),
    ],
)
def test_page_huge_target_or_productivity_shows_the_rule(org, client_for, target, inputs, message) -> None:
    form = {"name": "Huge", "fiscal_year": "2027", "method": "top_down", "basis": "equal", "target": target,
            "inputs": inputs}  # fmt: skip
    answer = client_for(org.ops).post("/planning/scenarios/", form, follow=True)
    assert answer.status_code == 200 and message in answer.content.decode()
    assert not QuotaScenario.objects.filter(name="Huge").exists()


def test_page_fiscal_year_in_superscript_is_a_message(org, client_for) -> None:
    form = {"name": "Odd year", "fiscal_year": SUPERSCRIPT_TWO, "method": "top_down", "target": "1000.00"}
    answer = client_for(org.ops).post("/planning/scenarios/", form, follow=True)
    assert answer.status_code == 200 and "is not a fiscal year" in answer.content.decode()


@pytest.mark.parametrize("raw", ["abc", SUPERSCRIPT_TWO, "1.5"])
@pytest.mark.parametrize(
    "base",
    [
        "/api/v1/planning/territory-models/",
        "/api/v1/planning/territories/",
        "/api/v1/planning/scenarios/",
        "/api/v1/planning/stress-tests/",
    ],
)
def test_api_non_numeric_ids_are_404(org, api_client_for, base, raw) -> None:
    assert api_client_for(org.ops).get(f"{base}{raw}/").status_code == 404


def test_api_territory_list_of_a_superscript_model_is_not_a_500(org, api_client_for) -> None:
    answer = api_client_for(org.ops).get("/api/v1/planning/territories/", {"model": SUPERSCRIPT_TWO})
    assert answer.status_code == 200


def test_superscript_ids_in_scenario_queries_and_forms(org, client_for, api_client_for) -> None:
    scenario = make(org)
    manager = client_for(org.manager_east)
    assert manager.get(f"/planning/scenarios/{scenario.pk}/allocate/", {"manager": SUPERSCRIPT_TWO}).status_code == 200
    assert manager.get("/planning/scenarios/compare/", {"ids": [SUPERSCRIPT_TWO, str(scenario.pk)]}).status_code == 200
    answer = manager.post(f"/planning/scenarios/{scenario.pk}/allocate/", {f"person_{SUPERSCRIPT_TWO}": "1"})
    assert answer.status_code == 302  # the key is ignored; the (empty) allocation answers with its message
    api = api_client_for(org.manager_east)
    assert api.get(f"{SCENARIOS}compare/", {"ids": [SUPERSCRIPT_TWO]}).status_code == 200
    answer = api.post(f"{SCENARIOS}{scenario.pk}/allocate/", {"numbers": {SUPERSCRIPT_TWO: "1.00"}}, format="json")
    assert answer.status_code == 400 and "is not a person id" in json.dumps(answer.json())


def test_stress_seed_is_bounded(org, client_for, api_client_for) -> None:
    new = {"name": "Big seed", "plan_definition": PLAN, "period": Q, "outcomes": 20, "seed": 2**31}
    answer = api_client_for(org.ops).post("/api/v1/planning/stress-tests/", new, format="json")
    assert answer.status_code == 400 and "seed" in answer.json()
    form = {"name": "Big seed", "plan_json": json.dumps(PLAN), "period": Q, "outcomes": "20", "seed": str(10**20)}
    answer = client_for(org.ops).post("/planning/stress-tests/new/", form)
    assert answer.status_code == 400 and "The seed is at most 2,147,483,647." in answer.content.decode()
    assert not StressTest.objects.filter(name="Big seed").exists()
    form["seed"], form["outcomes"] = str(2**31 - 1), SUPERSCRIPT_TWO  # the largest seed; outcomes not a number
    answer = client_for(org.ops).post("/planning/stress-tests/new/", form)
    assert answer.status_code == 400 and "outcomes must be between" in answer.content.decode()


def test_territory_forms_refuse_a_nul_byte_or_a_name_too_long_in_words(org, client_for) -> None:
    """A NUL byte in any page's form is a 400 naming the field (Postgres text cannot hold one); a name longer
    than its column is a message; nothing is saved either way."""
    from planning.models import TerritoryModel

    client = client_for(org.ops)
    refused = client.post("/planning/territories/", {"name": "N\x00"})
    assert refused.status_code == 400 and "The field &#x27;name&#x27; contains a NUL byte" in refused.content.decode()
    page = client.post("/planning/territories/", {"name": "N" * 200}, follow=True)
    assert page.status_code == 200 and "A territory model&#x27;s name is 1 to 120 characters." in page.content.decode()
    assert not TerritoryModel.objects.filter(name__startswith="N").exists()


# ------------------------------------------------------------------------- extreme scenario inputs
# An attainment of 10,000,000, a planned hire starting in 9999, a quota past the quota rule: each is refused
# with a message naming the field and record (400 on the API, a message on the page), and nothing is stored.
def _hire(org, start_date: str) -> list[dict[str, str]]:
    return [{"id": "west-hire-1", "manager": str(org.manager_west.pk), "start_date": start_date}]


def _extreme_cases(org) -> list[tuple[str, dict, str]]:
    return [
        (
            "top_down",
            {"attainment": "10000000"},
            "Scenario 'Extreme': attainment \"10000000\" is above 10 (1,000 %): the expected attainment is a share, "
            "0.8 for 80 %",
        ),
        (
            "top_down",
            {"hires": _hire(org, "9999-12-31")},
            'Scenario \'Extreme\': hires[0] (id "west-hire-1"): start_date "9999-12-31" is not a date between '
            "1 Jan 1900 and 31 Dec 2199",
        ),
        (
            "top_down",
            {"gap_hire": {"start_date": "9999-12-31"}},
            "Scenario 'Extreme': gap_hire: start_date \"9999-12-31\" is not a date between 1 Jan 1900 and 31 Dec 2199",
        ),
        (
            # 100,000,000,000 a month at 1,000 %: the director's first quarter is far past what a quota holds.
            "bottom_up",
            {"productivity": "100000000000", "attainment": "10"},
            f"Scenario 'Extreme': {org.director.display_name}'s quota for 2027-Q1 would be",
        ),
    ]


@pytest.mark.parametrize("case", range(4))
def test_api_extreme_scenario_inputs_are_400_naming_the_field(org, api_client_for, case) -> None:
    method, inputs, message = _extreme_cases(org)[case]
    answer = api_client_for(org.ops).post(
        SCENARIOS, _api_scenario("Extreme", method=method, inputs=inputs), format="json"
    )
    assert answer.status_code == 400
    assert answer.json()["inputs"][0].startswith(message)
    assert not QuotaScenario.objects.filter(name="Extreme").exists()


@pytest.mark.parametrize("case", range(4))
def test_page_extreme_scenario_inputs_show_the_message(org, client_for, case) -> None:
    method, inputs, message = _extreme_cases(org)[case]
    form = {"name": "Extreme", "fiscal_year": "2027", "method": method, "basis": "equal", "target": "1000.00",
            "inputs": json.dumps(inputs)}  # fmt: skip
    answer = client_for(org.ops).post("/planning/scenarios/", form, follow=True)
    assert answer.status_code == 200 and message in html.unescape(answer.content.decode())
    assert not QuotaScenario.objects.filter(name="Extreme").exists()


def test_quota_past_the_rule_names_the_rule(org, api_client_for) -> None:
    inputs = {"productivity": "100000000000", "attainment": "10"}
    body = _api_scenario("Extreme", method="bottom_up", inputs=inputs)
    detail = api_client_for(org.ops).post(SCENARIOS, body, format="json").json()["detail"]
    assert detail.endswith(f": {limits.QUOTA_RULE} (lower the productivity, attainment or uplift).")


def test_person_with_a_placeholder_start_date_is_named(org, api_client_for, client_for) -> None:
    org.rep_c.start_date = dt.date(9999, 12, 31)
    org.rep_c.save(update_fields=["start_date"])
    message = (
        f"Scenario 'Extreme': {org.rep_c.display_name}: the start date 9999-12-31 is not a date between 1 Jan 1900 "
        "and 31 Dec 2199."
    )
    answer = api_client_for(org.ops).post(SCENARIOS, _api_scenario("Extreme"), format="json")
    assert answer.status_code == 400 and answer.json()["detail"] == message
    form = {"name": "Extreme", "fiscal_year": "2027", "method": "top_down", "basis": "equal", "target": "1000.00"}
    page = client_for(org.ops).post("/planning/scenarios/", form, follow=True)
    assert page.status_code == 200 and message in html.unescape(page.content.decode())
    assert not QuotaScenario.objects.filter(name="Extreme").exists()


def test_person_with_a_placeholder_end_date_has_no_end(org, api_client_for) -> None:
    """9999-12-31 on a profile is HR's "no end date": planning counts the person as employed on, as with no end
    date, instead of refusing every scenario."""
    answers = {}
    for name, end in (("Open", None), ("Placeholder", dt.date(9999, 12, 31))):
        org.rep_c.end_date = end
        org.rep_c.save(update_fields=["end_date"])
        answer = api_client_for(org.ops).post(SCENARIOS, _api_scenario(name), format="json")
        assert answer.status_code == 201, answer.content
        answers[name] = QuotaScenario.objects.get(name=name)
    numbers = {name: sorted(s.quotas.values_list("person_id", "period", "amount")) for name, s in answers.items()}
    assert numbers["Placeholder"] == numbers["Open"] and any(pid == org.rep_c.pk for pid, _, _ in numbers["Open"])


def test_recompute_of_stored_extreme_inputs_is_400_and_keeps_the_quotas(org, api_client_for, client_for) -> None:
    """A draft stored before the bounds (an attainment of 10,000,000) recomputes into a message, and its quotas
    and result stay as they were: nothing half-written."""
    scenario = make(org)
    QuotaScenario.objects.filter(pk=scenario.pk).update(inputs={"attainment": "10000000"})
    before = sorted(scenario.quotas.values_list("person_id", "period", "amount"))
    result = QuotaScenario.objects.get(pk=scenario.pk).result
    answer = api_client_for(org.ops).post(f"{SCENARIOS}{scenario.pk}/recompute/")
    assert answer.status_code == 400
    assert answer.json()["inputs"] == [
        "Scenario 'Base': attainment \"10000000\" is above 10 (1,000 %): the expected attainment is a share, 0.8 for 80 %"
    ]
    page = client_for(org.ops).post(f"/planning/scenarios/{scenario.pk}/recompute/", follow=True)
    assert page.status_code == 200 and 'attainment "10000000" is above 10' in html.unescape(page.content.decode())
    assert sorted(scenario.quotas.values_list("person_id", "period", "amount")) == before
    assert QuotaScenario.objects.get(pk=scenario.pk).result == result
