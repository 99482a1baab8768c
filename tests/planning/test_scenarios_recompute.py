"""Recompute a draft quota scenario (page and API): sales ops only (403 to every other role whatever the id, 404
for a scenario that is not there); the engines run again over today's tree, a manager's allocation is replaced;
an approved or published scenario refuses, saying why."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from planning.services import scenarios as services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 15)
MISSING = 987_654_321


@pytest.fixture
def scenario(org):
    return services.scenario_create(actor=org.ops, name="Base", fiscal_year=2027, method="top_down", basis="equal",
                                    target="120000.00", inputs={"uplift": ["0.2"]}, today=TODAY)  # fmt: skip


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def annual(scenario, person) -> Decimal:
    return sum((q.amount for q in scenario.quotas.filter(person=person)), Decimal("0.00"))


def test_page_recompute_per_role(org, scenario) -> None:
    url = f"/planning/scenarios/{scenario.pk}/recompute/"
    for user in (org.rep_a, org.rep_c, org.manager_east, org.manager_west, org.director, org.finance):
        assert client_for(user).post(url).status_code == 403, user.username
        assert client_for(user).post(f"/planning/scenarios/{MISSING}/recompute/").status_code == 403
    ops = client_for(org.ops)
    assert ops.post(f"/planning/scenarios/{MISSING}/recompute/").status_code == 404
    assert ops.get(url).status_code == 405
    assert Client().post(url).status_code == 302  # to sign in
    detail = ops.get(f"/planning/scenarios/{scenario.pk}/").content.decode()
    assert 'data-testid="recompute"' in detail
    east = client_for(org.manager_east).get(f"/planning/scenarios/{scenario.pk}/").content.decode()
    assert 'data-testid="recompute"' not in east


def test_page_recompute_replaces_allocations_and_takes_in_new_people(org, scenario) -> None:
    services.scenario_allocate(actor=org.manager_east, scenario=scenario, manager=org.manager_east,
                               numbers={org.rep_a.pk: "50000.00", org.rep_b.pk: "16666.67"})  # fmt: skip
    assert annual(scenario, org.rep_a) == Decimal("50000.00")
    rep_d = UserFactory.create(username="rep_d", manager=org.manager_west, region=org.rep_c.region)
    page = client_for(org.ops).post(f"/planning/scenarios/{scenario.pk}/recompute/", follow=True)
    assert page.status_code == 200 and "recomputed" in page.content.decode()
    # 120,000 at the top hands down 100,000 by seller (four now): 25,000 each, west carries two.
    assert annual(scenario, org.rep_a) == Decimal("25000.00") == annual(scenario, rep_d)
    assert annual(scenario, org.manager_west) == Decimal("50000.00")
    assert not scenario.quotas.filter(allocated_by__isnull=False).exists()


def test_page_recompute_refused_once_approved_or_published(org, scenario) -> None:
    ops = client_for(org.ops)
    services.scenario_approve(actor=org.ops, scenario=scenario)
    before = sorted(scenario.quotas.values_list("person_id", "period", "amount"))
    page = ops.post(f"/planning/scenarios/{scenario.pk}/recompute/", follow=True).content.decode()
    assert "Scenario &#x27;Base&#x27; is approved: it no longer changes." in page
    assert 'data-testid="recompute"' not in page
    services.scenario_publish(actor=org.ops, scenario=scenario)
    page = ops.post(f"/planning/scenarios/{scenario.pk}/recompute/", follow=True).content.decode()
    assert "is published: it no longer changes." in page
    assert sorted(scenario.quotas.values_list("person_id", "period", "amount")) == before


def test_api_recompute_per_role(org, scenario, api_client_for) -> None:
    url = f"/api/v1/planning/scenarios/{scenario.pk}/recompute/"
    for user in (org.rep_a, org.manager_east, org.manager_west, org.director, org.finance):
        assert api_client_for(user).post(url).status_code == 403, user.username
        assert api_client_for(user).post(f"/api/v1/planning/scenarios/{MISSING}/recompute/").status_code == 403
    ops = api_client_for(org.ops)
    assert ops.post(f"/api/v1/planning/scenarios/{MISSING}/recompute/").status_code == 404
    services.scenario_allocate(actor=org.ops, scenario=scenario, manager=org.manager_east,
                               numbers={org.rep_a.pk: "60000.00", org.rep_b.pk: "6666.67"})  # fmt: skip
    answer = ops.post(url)
    assert answer.status_code == 200, answer.content
    rows = {row["person"]: row for row in answer.json()["quotas"]}
    assert sorted(rows[r.pk]["year"] for r in (org.rep_a, org.rep_b)) == ["33333.33", "33333.34"]
    assert rows[org.manager_east.pk]["reports_sum"] == "66666.67"
    assert answer.json()["result"]["capacity"] is not None
    assert ops.post(f"/api/v1/planning/scenarios/{scenario.pk}/approve/").status_code == 200
    refused = ops.post(url)
    assert refused.status_code == 400 and "is approved: it no longer changes" in refused.json()["detail"]
