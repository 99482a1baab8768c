"""Bad input to the planning pages and API answers a clear message (400 or 404), never a 500: huge scenario
targets and productivity overrides, non-numeric ids in paths, an unbounded stress-test seed, and digits that
str.isdigit accepts but int() refuses ('²')."""

from __future__ import annotations

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
