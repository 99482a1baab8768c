"""Quota scenario pages and API per role: sales ops plan and publish, managers read their subtree and allocate
their reports, finance reads, a rep sees their own row of a published scenario only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from planning.services import scenarios as services

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 15)


@pytest.fixture
def scenario(org):
    return services.scenario_create(actor=org.ops, name="Base", fiscal_year=2027, method="top_down", basis="equal",
                                    target="120000.00", inputs={"uplift": ["0.2"]}, today=TODAY)  # fmt: skip


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_pages_per_role(org, scenario) -> None:
    detail = f"/planning/scenarios/{scenario.pk}/"
    ops = client_for(org.ops)
    page = ops.get(detail)
    assert page.status_code == 200 and org.rep_c.display_name in page.content.decode()
    assert b'data-testid="capacity"' in page.content
    assert client_for(org.finance).get(detail).status_code == 200
    west = client_for(org.manager_west).get(detail).content.decode()
    assert org.rep_c.display_name in west and org.rep_a.display_name not in west
    assert client_for(org.rep_a).get(detail).status_code == 404  # a draft is not a rep's
    assert client_for(org.rep_a).get("/planning/scenarios/compare/").status_code == 403
    assert client_for(org.rep_a).get(f"{detail}allocate/").status_code == 403
    assert client_for(org.finance).get(f"{detail}allocate/").status_code == 403
    assert client_for(org.manager_west).get(f"{detail}allocate/?manager={org.manager_east.pk}").status_code == 404
    assert client_for(org.director).post(f"{detail}approve/").status_code == 403
    assert client_for(org.finance).post(f"{detail}publish/").status_code == 403
    assert client_for(org.rep_a).get("/planning/required-pipeline/").status_code == 200
    compare = ops.get(f"/planning/scenarios/compare/?ids={scenario.pk}")
    assert compare.status_code == 200 and b"120,000.00" in compare.content


def test_manager_allocates_on_the_page_then_ops_publish(org, scenario) -> None:
    east = client_for(org.manager_east)
    form = east.get(f"/planning/scenarios/{scenario.pk}/allocate/", HTTP_HX_REQUEST="true")
    assert form.status_code == 200 and b"<html" not in form.content and b"66,666.67" in form.content
    east.post(f"/planning/scenarios/{scenario.pk}/allocate/",
              {f"person_{org.rep_a.pk}": "50000.00", f"person_{org.rep_b.pk}": "16666.67"})  # fmt: skip
    refused = east.post(f"/planning/scenarios/{scenario.pk}/allocate/", {f"person_{org.rep_a.pk}": "1.00"},
                        follow=True)  # fmt: skip
    assert b"add up to" in refused.content
    quotas = {q.person_id: q for q in scenario.quotas.filter(period="2027-Q1")}
    assert quotas[org.rep_a.pk].amount == Decimal("12500.00") and quotas[org.rep_a.pk].allocated_by == org.manager_east
    ops = client_for(org.ops)
    ops.post(f"/planning/scenarios/{scenario.pk}/approve/")
    ops.post(f"/planning/scenarios/{scenario.pk}/publish/")
    scenario.refresh_from_db()
    assert scenario.status == "published"
    rep = client_for(org.rep_a)
    own = rep.get(f"/planning/scenarios/{scenario.pk}/").content.decode()
    assert "50,000.00" in own and org.rep_b.display_name not in own and 'data-testid="capacity"' not in own
    assert client_for(org.rep_c).get("/planning/scenarios/").status_code == 200


def test_api_per_role(org, scenario, api_client_for) -> None:
    base = "/api/v1/planning/scenarios/"
    ops = api_client_for(org.ops)
    created = ops.post(base, {"name": "Bottom", "fiscal_year": 2027, "method": "bottom_up", "basis": "equal",
                              "inputs": {"productivity": "10000", "attainment": "1"}}, format="json")  # fmt: skip
    assert created.status_code == 201, created.content
    # The answer is the computed scenario (not the row as it was before computing): three reps at 10,000 a month.
    assert created.json()["result"]["capacity"] == "360000.00", created.json()["result"]
    assert (
        api_client_for(org.manager_east).post(base, {"name": "x", "fiscal_year": 2027}, format="json").status_code
        == 403
    )
    assert api_client_for(org.rep_a).get(f"{base}{scenario.pk}/").status_code == 404
    east = api_client_for(org.manager_east)
    people = {row["person"] for row in east.get(f"{base}{scenario.pk}/").json()["quotas"]}
    assert people == {org.manager_east.pk, org.rep_a.pk, org.rep_b.pk}
    wrong = east.post(f"{base}{scenario.pk}/allocate/", {"numbers": {str(org.rep_a.pk): "1.00"}}, format="json")
    assert wrong.status_code == 400 and "add up to" in wrong.json()["detail"]
    west = api_client_for(org.manager_west)
    outside = west.post(
        f"{base}{scenario.pk}/allocate/", {"manager": org.manager_east.pk, "numbers": {}}, format="json"
    )
    assert outside.status_code == 404
    assert api_client_for(org.finance).post(f"{base}{scenario.pk}/approve/").status_code == 403
    assert ops.post(f"{base}{scenario.pk}/approve/").status_code == 200
    assert ops.post(f"{base}{scenario.pk}/publish/").status_code == 200
    assert ops.post(f"{base}{scenario.pk}/publish/").status_code == 400
    own = api_client_for(org.rep_a).get(f"{base}{scenario.pk}/").json()
    assert [row["person"] for row in own["quotas"]] == [org.rep_a.pk] and own["result"] == {}
    assert api_client_for(org.rep_a).get(f"{base}compare/").status_code == 403
    compare = ops.get(f"{base}compare/?ids={scenario.pk}&ids={created.json()['id']}").json()
    assert compare["totals"][0] == "120000.00"
    assert api_client_for(org.rep_a).get("/api/v1/planning/required-pipeline/?period=2026-Q4").status_code == 200
