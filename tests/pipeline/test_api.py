"""The pipeline API: the same scope, roles, filters and rules as the pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from pipeline import selectors, services
from pipeline.models import Activity, Deal, DealChange, DealSplit, Lead, Pipeline
from salesops.org.models import AuditEvent
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


# ------------------------------------------------------------------------------- activities: done, on leads
def _task(client, **on) -> dict:
    response = client.post("/api/v1/activities/", {"kind": "task", "subject": "Send the quote",
                                                    "due_date": "2026-12-01", **on}, format="json")  # fmt: skip
    assert response.status_code == 201, response.json()
    assert response.json()["done"] is False and response.json()["done_at"] is None
    return response.json()


def test_a_task_on_a_deal_is_marked_done_by_who_may_change_the_deal(api_client_for, org, deals):
    task = _task(api_client_for(org.rep_a), deal=deals["a"].pk)
    url = f"/api/v1/activities/{task['id']}/done/"
    for outsider in (org.rep_b, org.rep_c, org.manager_west):  # the deal is outside their scope: as a missing id
        assert api_client_for(outsider).post(url).status_code == 404
    assert api_client_for(org.rep_a).post("/api/v1/activities/987654321/done/").status_code == 404
    response = api_client_for(org.finance).post(url)  # finance reads the deal, changes nothing of it
    assert response.status_code == 403
    assert Activity.objects.get(pk=task["id"]).done is False
    response = api_client_for(org.manager_east).post(url)
    assert response.status_code == 200
    activity = Activity.objects.get(pk=task["id"])
    assert activity.done is True and activity.done_at is not None
    body = response.json()
    assert (body["id"], body["done"], body["deal"]) == (task["id"], True, deals["a"].pk)
    assert body["subject"] == "Send the quote"
    assert Deal.objects.get(pk=deals["a"].pk).last_activity_at == activity.done_at  # the deal is no longer quiet
    again = api_client_for(org.rep_a).post(url)  # done already: stays as it was
    assert again.status_code == 200 and again.json()["done_at"] == body["done_at"]
    assert api_client_for(org.rep_a).get(url).status_code == 405


def test_a_task_on_a_lead_is_read_back_and_marked_done_as_the_lead_is_changed(api_client_for, client_for, org):
    lead = services.lead_create(actor=org.rep_a, last_name="Waddams", company="Initrode")
    other = services.lead_create(actor=org.rep_c, last_name="Lumbergh", company="Initech")
    assert lead.first_response_at is None
    task = _task(api_client_for(org.rep_a), lead=lead.pk)
    _task(api_client_for(org.rep_c), lead=other.pk)

    def listed(user, **query) -> list[int]:
        response = api_client_for(user).get("/api/v1/activities/", query)
        assert response.status_code == 200
        return [row["id"] for row in response.json()["results"]]

    assert listed(org.rep_a, lead=lead.pk) == [task["id"]]  # readable through the API once logged there
    assert listed(org.manager_east, lead=lead.pk) == [task["id"]]
    assert listed(org.finance, lead=lead.pk) == [task["id"]]
    assert task["id"] in listed(org.rep_a)
    assert listed(org.rep_b, lead=lead.pk) == [] == listed(org.rep_c, lead=lead.pk)  # as a lead no one has
    assert listed(org.rep_a, lead=987654321) == []
    assert task["id"] not in listed(org.rep_c) and task["id"] not in listed(org.manager_west)

    url = f"/api/v1/activities/{task['id']}/done/"
    assert api_client_for(org.rep_c).post(url).status_code == 404
    assert api_client_for(org.finance).post(url).status_code == 403
    assert Lead.objects.get(pk=lead.pk).first_response_at is None
    response = api_client_for(org.rep_a).post(url)
    assert response.status_code == 200 and response.json()["done"] is True
    # A task done for the lead is its first answer (docs/signals-leads.md), at the moment it was ticked.
    done_at = Activity.objects.get(pk=task["id"]).done_at
    assert Lead.objects.get(pk=lead.pk).first_response_at == done_at is not None

    # The page's Done does the same, under the same rule, and goes back to the lead's page.
    page_task = _task(api_client_for(org.rep_a), lead=lead.pk)
    page_url = reverse("pipeline:activity_done", args=[page_task["id"]])
    assert client_for(org.rep_c).post(page_url).status_code == 404
    assert client_for(org.finance).post(page_url).status_code == 403
    lead_page = client_for(org.rep_a).get(reverse("pipeline:lead_detail", args=[lead.pk])).content.decode()
    assert page_url in lead_page and "Done</button>" in lead_page  # the lead page offers it to who may tick it
    assert page_url not in client_for(org.finance).get(reverse("pipeline:lead_detail", args=[lead.pk])).content.decode()
    response = client_for(org.rep_a).post(page_url)
    assert response.status_code == 302 and response["Location"] == reverse("pipeline:lead_detail", args=[lead.pk])
    assert Activity.objects.get(pk=page_task["id"]).done is True


def test_a_task_on_a_deal_and_a_lead_is_the_deal_s_to_tick(api_client_for, client_for, org, deals):
    """The deal page's rule: a task on a deal is the deal's, read and done by who may read and change the deal,
    whoever owns its lead: rep_a, who owns the lead but not rep_c's deal, neither lists it (API or lead page)
    nor reads its notes, and ticking it is the answer for an id outside her scope."""
    lead = services.lead_create(actor=org.rep_a, last_name="Waddams", company="Initrode")
    activity = services.activity_create(actor=org.rep_c, kind="task", subject="Call back about pricing",
                                        deal=deals["c"], lead=lead, notes="West's discount ceiling")  # fmt: skip
    listed = api_client_for(org.rep_a).get("/api/v1/activities/", {"lead": lead.pk}).json()["results"]
    assert activity.pk not in [row["id"] for row in listed]
    assert api_client_for(org.rep_a).get("/api/v1/activities/", {"deal": deals["c"].pk}).json()["results"] == []
    page = client_for(org.rep_a).get(f"/pipeline/leads/{lead.pk}/").content.decode()
    assert "Call back about pricing" not in page
    assert api_client_for(org.rep_a).post(f"/api/v1/activities/{activity.pk}/done/").status_code == 404
    assert api_client_for(org.rep_c).post(f"/api/v1/activities/{activity.pk}/done/").status_code == 200
    # The deal's own people see it from the lead's side too: the west manager on the API.
    west = api_client_for(org.manager_west).get("/api/v1/activities/", {"deal": deals["c"].pk}).json()["results"]
    assert [row["id"] for row in west] == [activity.pk]


# ----------------------------------------------------------------------------------- history: the reason why
def test_the_history_says_why_a_won_deal_left_won(api_client_for, org):
    stages = default_stages()
    won = DealFactory.create(name="Bravo expansion", owner=org.rep_a, stage=stages["Closed Won"])
    client = api_client_for(org.rep_a)
    response = client.post(f"/api/v1/deals/{won.pk}/move/", {"stage": stages["Proposal"].pk,
                                                               "reason": "Signed by the wrong entity"}, format="json")  # fmt: skip
    assert response.status_code == 200, response.json()
    history = client.get(f"/api/v1/deals/{won.pk}/history/").json()
    assert [(h["field"], h["old_value"], h["new_value"], h["reason"]) for h in history if h["field"] == "stage"] == [
        ("stage", "Closed Won", "Proposal", "Signed by the wrong entity")
    ]
    assert all(h["reason"] == "" for h in history if h["field"] != "stage")  # a change needing no reason has none
    timeline = selectors.deal_timeline(won)  # what the deal page shows
    assert any(e.detail.endswith("why: Signed by the wrong entity") for e in timeline)
    assert api_client_for(org.rep_c).get(f"/api/v1/deals/{won.pk}/history/").status_code == 404


# -------------------------------------------------------------------------------------------- stage order
def _order(pipeline: Pipeline) -> list[int]:
    return list(pipeline.stages.order_by("position").values_list("pk", flat=True))


def test_sales_ops_reorder_a_pipeline_s_stages(api_client_for, org):
    pipeline = default_stages()["Prospecting"].pipeline
    before = _order(pipeline)
    new = [before[1], before[0], *before[2:]]
    url = f"/api/v1/pipelines/{pipeline.pk}/stage-order/"
    for who in (org.rep_a, org.manager_east, org.finance):  # the setup page's rule: sales ops only
        assert api_client_for(who).post(url, {"stages": new}, format="json").status_code == 403
    assert _order(pipeline) == before
    response = api_client_for(org.ops).post(url, {"stages": new}, format="json")
    assert response.status_code == 200, response.json()
    assert [row["id"] for row in response.json()["stages"]] == new
    assert [row["position"] for row in response.json()["stages"]] == list(range(1, len(new) + 1))
    assert _order(pipeline) == new
    event = AuditEvent.objects.get(entity="pipeline.pipeline", entity_id=str(pipeline.pk), action="reorder")
    assert event.actor == org.ops and event.changes == {"stages": [before, new]}  # the order it replaced, too
    assert (api_client_for(org.ops).post("/api/v1/pipelines/987654321/stage-order/", {"stages": new},
                                         format="json").status_code == 404)  # fmt: skip


def test_a_stage_order_that_is_not_every_stage_once_is_refused_naming_the_ids(api_client_for, org):
    stages = default_stages()
    pipeline = stages["Prospecting"].pipeline
    other = services.pipeline_create(actor=org.ops, name="Renewals")
    foreign = other.stages.order_by("position")[0]
    before = _order(pipeline)
    prospecting, qualification = stages["Prospecting"].pk, stages["Qualification"].pk
    url = f"/api/v1/pipelines/{pipeline.pk}/stage-order/"
    client = api_client_for(org.ops)

    response = client.post(url, {"stages": [*before[:-1], foreign.pk]}, format="json")
    assert response.status_code == 400
    message = response.json()["stages"][0]
    assert f"not a stage of Sales: {foreign.pk}" in message
    assert f"left out: {before[-1]} (Closed Lost)" in message

    response = client.post(url, {"stages": [prospecting, *before]}, format="json")
    assert response.status_code == 400
    assert response.json()["stages"] == [
        f"The new order must list every stage of Sales once; listed more than once: {prospecting} (Prospecting)."
    ]

    response = client.post(url, {"stages": [s for s in before if s != qualification]}, format="json")
    assert response.status_code == 400
    assert f"left out: {qualification} (Qualification)" in response.json()["stages"][0]

    # Thousands of ids not of the pipeline are named by the first ten, not echoed whole.
    response = client.post(url, {"stages": [*before, *range(900_000_000, 900_002_000)]}, format="json")
    assert response.status_code == 400
    assert "900000009, and 1990 more" in response.json()["stages"][0] and len(response.json()["stages"][0]) < 400
    for body in ({}, {"stages": "1,2"}, {"stages": ["x"]}):
        response = client.post(url, body, format="json")
        assert response.status_code == 400 and "stages" in response.json()
    assert _order(pipeline) == before
    assert not AuditEvent.objects.filter(entity="pipeline.pipeline", action="reorder").exists()


# ------------------------------------------------------------------------------------ data quality: ?days=
def test_data_quality_honours_the_window_as_the_page_does(api_client_for, client_for, org):
    now = timezone.now()
    quiet_10 = DealFactory.create(name="Quiet ten days", owner=org.rep_a)
    quiet_50 = DealFactory.create(name="Quiet fifty days", owner=org.rep_c)
    Deal.objects.filter(pk__in=[quiet_10.pk, quiet_50.pk]).update(created_at=now - dt.timedelta(days=400))
    Deal.objects.filter(pk=quiet_10.pk).update(last_activity_at=now - dt.timedelta(days=10))
    Deal.objects.filter(pk=quiet_50.pk).update(last_activity_at=now - dt.timedelta(days=50))
    api, page = api_client_for(org.ops), client_for(org.ops)

    def stale(query: str) -> tuple[int, list[int]]:
        body = api.get(f"/api/v1/data-quality/{query}").json()
        shown = page.get(f"{reverse('pipeline:data_quality')}{query}").context
        assert (body["days"], body["no_recent_activity"]["count"]) == (shown["days"], shown["stale_count"])
        return body["days"], body["no_recent_activity"]["ids"]

    assert stale("") == (30, [quiet_50.pk])
    assert stale("?days=7") == (7, [quiet_50.pk, quiet_10.pk])  # quietest first, as the page lists them
    assert stale("?days=60") == (60, [])
    assert stale("?days=0") == (1, [quiet_50.pk, quiet_10.pk])  # held to 1..365, as on the page
    assert stale("?days=100000") == (365, [])
    assert stale("?days=soon") == (30, [quiet_50.pk])  # not a number: the default
    assert api_client_for(org.manager_east).get("/api/v1/data-quality/?days=7").status_code == 403


def test_an_account_filter_that_is_not_an_id_is_refused_naming_it(api_client_for, org, deals):
    """`?account=<id>.5` was read as a decimal that the id column truncated: the deals and contacts of account
    <id> were listed for an account id nobody has. Both lists answer 400 naming the parameter."""
    account = deals["b"].account
    finance = api_client_for(org.finance)
    assert names(finance.get("/api/v1/deals/", {"account": account.pk})) == {"Bravo"}
    for bad in (f"{account.pk}.5", f"{account.pk}.0", f"+{account.pk}", "²"):
        for url in ("/api/v1/deals/", "/api/v1/contacts/"):
            response = finance.get(url, {"account": bad})
            assert response.status_code == 400, (url, bad, response.content)
            assert response.json()["account"] == [f"account: {bad!r} is not an id (whole digits, e.g. ?account=12)."]
