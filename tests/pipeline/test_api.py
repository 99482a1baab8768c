"""The pipeline API: the same scope, roles, filters and rules as the pages."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline.models import Deal, DealChange, DealSplit
from tests.factories import AccountFactory, DealFactory, default_stages

pytestmark = pytest.mark.django_db


@pytest.fixture
def deals(org):
    return {
        "a": DealFactory.create(name="Alpha", owner=org.rep_a, account=None),
        "b": DealFactory.create(name="Bravo", owner=org.rep_b),
        "c": DealFactory.create(name="Charlie", owner=org.rep_c, amount=Decimal("7.00")),
    }


def names(response) -> set[str]:
    return {row["name"] for row in response.json()["results"]}


def test_list_scope_and_filters(api_client_for, org, deals):
    assert names(api_client_for(org.rep_a).get("/api/v1/deals/")) == {"Alpha"}
    assert names(api_client_for(org.manager_east).get("/api/v1/deals/")) == {"Alpha", "Bravo"}
    assert names(api_client_for(org.finance).get("/api/v1/deals/", {"max_amount": "8"})) == {"Charlie"}


def test_outside_scope_404_and_finance_403(api_client_for, org, deals):
    assert api_client_for(org.manager_east).get(f"/api/v1/deals/{deals['c'].pk}/").status_code == 404
    response = api_client_for(org.finance).patch(f"/api/v1/deals/{deals['c'].pk}/", {"amount": "1"}, format="json")
    assert response.status_code == 403
    deals["c"].refresh_from_db()
    assert deals["c"].amount == Decimal("7.00")


def test_create_update_and_history(api_client_for, org):
    client = api_client_for(org.rep_a)
    response = client.post(
        "/api/v1/deals/", {"name": "Zulu", "amount": "500", "close_date": "2027-01-15"}, format="json"
    )
    assert response.status_code == 201, response.json()
    deal_id = response.json()["id"]
    assert response.json()["owner"] == org.rep_a.pk
    assert response.json()["stage_name"] == "Prospecting"
    response = client.patch(f"/api/v1/deals/{deal_id}/", {"amount": "750.25"}, format="json")
    assert response.json()["amount"] == "750.25"
    history = client.get(f"/api/v1/deals/{deal_id}/history/").json()
    assert [(h["field"], h["old_value"], h["new_value"]) for h in history] == [
        ("created", "", "Prospecting"),
        ("amount", "500.00", "750.25"),
    ]


def test_rep_cannot_create_for_someone_else(api_client_for, org):
    # Someone the rep may not act for is no choice: answered as a missing id (see test_reference_scope.py).
    response = api_client_for(org.rep_a).post("/api/v1/deals/", {"name": "X", "owner": org.rep_b.pk}, format="json")
    assert response.status_code == 400 and "does not exist" in response.json()["owner"][0]
    assert not Deal.objects.filter(name="X").exists()


def test_move_blocked_with_message_then_allowed(api_client_for, org, deals):
    client = api_client_for(org.rep_a)
    discovery = default_stages()["Discovery"]
    response = client.post(f"/api/v1/deals/{deals['a'].pk}/move/", {"stage": discovery.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "Alpha cannot enter Discovery: it needs an account."
    client.patch(
        f"/api/v1/deals/{deals['a'].pk}/", {"account": AccountFactory.create(owner=org.rep_a).pk}, format="json"
    )
    response = client.post(f"/api/v1/deals/{deals['a'].pk}/move/", {"stage": discovery.pk}, format="json")
    assert response.status_code == 200 and response.json()["stage_name"] == "Discovery"
    assert response.json()["forecast_category"] == "best_case"


def test_splits_and_category_override(api_client_for, org, deals):
    client = api_client_for(org.manager_east)
    url = f"/api/v1/deals/{deals['b'].pk}/splits/"
    bad = client.put(url, {"splits": [{"person": org.rep_b.pk, "percent": "50"}]}, format="json")
    assert bad.status_code == 400 and "sum to 50 %" in bad.json()["detail"]
    ok = client.put(url, {"splits": [{"person": org.rep_b.pk, "percent": "50"}, {"person": org.rep_a.pk, "percent": "50"}]},
                    format="json")  # fmt: skip
    assert ok.status_code == 200
    assert DealSplit.objects.filter(deal=deals["b"]).count() == 2
    response = client.post(f"/api/v1/deals/{deals['b'].pk}/category/", {"category": "commit"}, format="json")
    assert response.json()["forecast_category"] == "commit"
    assert DealChange.objects.filter(deal=deals["b"], field="category", new_value="commit").exists()


def test_setup_endpoints_are_sales_ops_only(api_client_for, org):
    pipeline_id = default_stages()["Prospecting"].pipeline_id
    body = {"name": "Legal", "probability": "90", "forecast_category": "commit", "exit_criteria": ["amount"]}
    assert (
        api_client_for(org.manager_east)
        .post(f"/api/v1/pipelines/{pipeline_id}/stages/", body, format="json")
        .status_code
        == 403
    )
    response = api_client_for(org.ops).post(f"/api/v1/pipelines/{pipeline_id}/stages/", body, format="json")
    assert response.status_code == 201 and response.json()["exit_criteria"] == ["amount"]
    assert api_client_for(org.rep_a).get("/api/v1/data-quality/").status_code == 403
    assert api_client_for(org.ops).get("/api/v1/data-quality/").status_code == 200
    assert api_client_for(org.rep_a).get("/api/v1/pipelines/").status_code == 200


def test_account_merge_api(api_client_for, org):
    keep, dup = AccountFactory.create(name="Umbrella"), AccountFactory.create(name="Umbrella Corp")
    DealFactory.create(owner=org.rep_a, account=dup)
    assert (
        api_client_for(org.manager_east)
        .post("/api/v1/accounts/merge/", {"keep": keep.pk, "duplicate": dup.pk})
        .status_code
        == 403
    )
    response = api_client_for(org.ops).post("/api/v1/accounts/merge/", {"keep": keep.pk, "duplicate": dup.pk})
    assert response.status_code == 200 and response.json()["moved"]["deals"] == 1
    assert Deal.objects.filter(account=keep).count() == 1


def test_lead_convert_api(api_client_for, org):
    client = api_client_for(org.rep_a)
    lead = client.post("/api/v1/leads/", {"last_name": "Waddams", "company": "Initrode"}, format="json").json()
    response = client.post(
        f"/api/v1/leads/{lead['id']}/convert/", {"deal_name": "Staplers", "amount": "40"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "converted"
    assert Deal.objects.get(name="Staplers").amount == Decimal("40.00")
    assert api_client_for(org.rep_c).post(f"/api/v1/leads/{lead['id']}/convert/", {}).status_code == 404


def test_activity_api_scoped(api_client_for, org, deals):
    client = api_client_for(org.rep_a)
    response = client.post(
        "/api/v1/activities/", {"kind": "meeting", "subject": "Demo", "deal": deals["a"].pk}, format="json"
    )
    assert response.status_code == 201
    # Another team's deal is answered as a missing one (400, "does not exist"), not as a forbidden one.
    assert (
        client.post(
            "/api/v1/activities/", {"kind": "call", "subject": "x", "deal": deals["c"].pk}, format="json"
        ).status_code
        == 400
    )
    listed = api_client_for(org.rep_c).get("/api/v1/activities/").json()["results"]
    assert listed == []
