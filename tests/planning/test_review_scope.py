"""Scope found in review: managers do not see a scenario's company-wide figures (target, inputs, capacity,
gap, planned hires), page or API; reps read only the active territory model and their own territories in it;
required pipeline lists sellers only (a manager's team number is not measured by their own deals)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from incentives import services as incentives
from planning.selectors import scenarios as scenario_selectors
from planning.services import territories as territory_services
from tests.factories import AccountFactory, DealFactory
from tests.planning.test_scenarios import TODAY, make
from tests.planning.test_territories import build

pytestmark = pytest.mark.django_db

HIRES = [{"id": "east-hire-1", "manager": "0", "start_date": "2027-03-01", "ramp": ["0.5"]}]


# ------------------------------------------------------------------------------------------- scenarios
@pytest.fixture
def scenario(org):
    hires = [dict(HIRES[0], manager=str(org.manager_west.pk))]
    return make(org, target="123456.00", inputs={"uplift": ["0.2", "0"], "hires": hires})


def test_scenario_page_shows_company_figures_to_finance_and_ops_only(org, scenario, client_for) -> None:
    url = f"/planning/scenarios/{scenario.pk}/"
    for who in (org.finance, org.ops):
        page = client_for(who).get(url).content.decode()
        assert "capacity for the year" in page and 'data-testid="gap"' in page and "123,456" in page
        assert "east-hire-1" in page  # the planned hire of the west team
    answer = client_for(org.manager_east).get(url)
    page = answer.content.decode()
    assert answer.status_code == 200 and "Allocation tree" in page
    assert "capacity for the year" not in page and 'data-testid="gap"' not in page and "123,456" not in page
    assert "east-hire-1" not in page and "Planned hires" not in page
    assert org.manager_west.display_name not in page  # another team's row
    listing = client_for(org.manager_east).get("/planning/scenarios/").content.decode()
    assert "123,456" not in listing
    assert "123,456" in client_for(org.finance).get("/planning/scenarios/").content.decode()


def test_scenario_api_gives_company_figures_to_finance_and_ops_only(org, scenario, api_client_for) -> None:
    url = f"/api/v1/planning/scenarios/{scenario.pk}/"
    for who in (org.finance, org.ops):
        body = api_client_for(who).get(url).json()
        assert body["target"] == "123456.00" and body["inputs"]["hires"] and body["result"]["planned_hires"]
    manager = api_client_for(org.manager_east)
    body = manager.get(url).json()
    assert (body["target"], body["inputs"], body["result"]) == (None, {}, {})
    assert {row["person"] for row in body["quotas"]} == {org.manager_east.pk, org.rep_a.pk, org.rep_b.pk}
    [listed] = manager.get("/api/v1/planning/scenarios/").json()
    assert (listed["target"], listed["inputs"], listed["result"]) == (None, {}, {})
    # The allocation's answer does not carry them either.
    mine = {row["person"]: row["year"] for row in body["quotas"] if row["manager"] == org.manager_east.pk}
    answer = manager.post(f"{url}allocate/", {"numbers": mine}, format="json")
    assert answer.status_code == 200
    assert (answer.json()["target"], answer.json()["inputs"], answer.json()["result"]) == (None, {}, {})


# ------------------------------------------------------------------------------------------- territories
def test_rep_reads_only_the_active_model_and_only_their_territories(org, client_for, api_client_for) -> None:
    AccountFactory.create(name="Paris SARL", country="FR", employees=20)
    AccountFactory.create(name="Lyon SA", country="FR", employees=500)  # EMEA (the manager's), not rep_a's
    AccountFactory.create(name="Austin Inc", country="US", employees=300)
    model, t = build(org)
    page, api = f"/planning/territories/models/{model.pk}/", f"/api/v1/planning/territory-models/{model.pk}/"
    rep = client_for(org.rep_a)
    assert rep.get(page).status_code == 404  # a draft
    assert api_client_for(org.rep_a).get(api).status_code == 404
    assert api_client_for(org.rep_a).get("/api/v1/planning/territory-models/").json() == []
    answer = api_client_for(org.rep_a).get(f"/api/v1/planning/territories/{t['smb']}/")
    assert answer.status_code == 404
    territory_services.territory_assign(actor=org.ops, model_id=model.pk)
    territory_services.territory_model_activate(actor=org.ops, model_id=model.pk)
    text = rep.get(page).content.decode()
    assert "France SMB" in text and "EMEA" not in text and "Americas" not in text
    body = api_client_for(org.rep_a).get(api).json()
    assert [(row["name"], row["accounts"]) for row in body["territories"]] == [("France SMB", 1)]
    # A copy (a draft) and, once it is active, the archived original are not the rep's to open.
    copy = territory_services.territory_model_copy(actor=org.ops, model_id=model.pk, name="FY28")
    assert rep.get(f"/planning/territories/models/{copy.pk}/").status_code == 404
    territory_services.territory_assign(actor=org.ops, model_id=copy.pk)
    territory_services.territory_model_activate(actor=org.ops, model_id=copy.pk)
    assert rep.get(page).status_code == 404 and api_client_for(org.rep_a).get(api).status_code == 404
    assert rep.get(f"/planning/territories/models/{copy.pk}/").status_code == 200
    # Managers and finance still read every model.
    assert client_for(org.manager_east).get(page).status_code == 200
    assert api_client_for(org.finance).get(api).status_code == 200


# ------------------------------------------------------------------------------------------- required pipeline
def test_required_pipeline_lists_sellers_with_their_own_quota(org) -> None:
    period = incentives.period_get_or_create("2026-Q4")
    for who, amount in ((org.rep_a, "100000.00"), (org.manager_east, "200000.00"), (org.manager_west, "50000.00")):
        incentives.quota_set(actor=org.ops, person=who, period=period, amount=amount)
    DealFactory.create(owner=org.manager_east, amount=Decimal("5000"), close_date=dt.date(2026, 12, 1))
    rows = {r.person_id: r for r in scenario_selectors.required_pipeline(org.ops, "2026-Q4", today=TODAY)}
    assert set(rows) == {org.rep_a.pk}  # the managers' team numbers are not compared with their own deals
    mine = scenario_selectors.required_pipeline(org.manager_east, "2026-Q4", today=TODAY)
    assert [r.person_id for r in mine] == [org.rep_a.pk]
    # A player-coach (a manager who is also a rep) is listed, with their own quota.
    org.manager_west.is_rep = True
    org.manager_west.save(update_fields=["is_rep"])
    rows = {r.person_id: r for r in scenario_selectors.required_pipeline(org.ops, "2026-Q4", today=TODAY)}
    assert set(rows) == {org.rep_a.pk, org.manager_west.pk}
    assert rows[org.manager_west.pk].quota == Decimal("50000.00")
