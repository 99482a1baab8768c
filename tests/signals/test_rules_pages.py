"""Rules pages and API: sales ops create a rule from the form (a bad filter is a clear form error), preview how many
deals match, read firings and the dry run, switch a rule on; everybody else gets 403 on every rules URL."""

from __future__ import annotations

from typing import Any

import pytest

from signals.models import Rule
from signals.services import rules as services
from tests.factories import DealFactory, default_stages

pytestmark = pytest.mark.django_db


def _rule(org: Any) -> Rule:
    return services.rule_create(
        actor=org.ops,
        name="Quiet deals",
        trigger="schedule",
        every_minutes=60,
        conditions="status=open&min_days_idle=14",
        actions=[{"kind": "notify_owner"}],
    )


def test_sales_ops_create_a_rule_from_the_form(org: Any, client_for: Any) -> None:
    proposal = default_stages()["Proposal"]
    client = client_for(org.ops)
    assert client.get("/signals/rules/new/").status_code == 200
    response = client.post(
        "/signals/rules/new/",
        {
            "name": "Proposal rotting",
            "trigger": "schedule",
            "every_minutes": "60",
            "conditions": f"stage={proposal.pk}&min_days_in_stage=14&min_days_idle=14",
            "action_kind_0": "notify_owner",
            "action_kind_1": "notify_role",
            "action_role_1": "sales_ops",
        },
    )
    rule = Rule.objects.get(name="Proposal rotting")
    assert response.status_code == 302 and response["Location"] == f"/signals/rules/{rule.pk}/"
    assert rule.actions == [{"kind": "notify_owner"}, {"kind": "notify_role", "role": "sales_ops"}]
    assert not rule.is_live
    page = client.get(f"/signals/rules/{rule.pk}/").content.decode()
    assert "Proposal rotting" in page and "In its stage for at least (days): 14" in page and "Proposal" in page


def test_an_invalid_filter_is_a_clear_form_error(org: Any, client_for: Any) -> None:
    client = client_for(org.ops)
    response = client.post(
        "/signals/rules/new/",
        {
            "name": "Bad",
            "trigger": "deal_change",
            "conditions": "stage=999999&colour=red",
            "action_kind_0": "notify_owner",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "“colour” is not a filter of the deal list." in page and "Stage:" in page
    assert not Rule.objects.filter(name="Bad").exists()


def test_the_preview_counts_the_deals_matching_now(org: Any, client_for: Any) -> None:
    DealFactory.create(owner=org.rep_a)
    DealFactory.create(owner=org.rep_b, stage=default_stages()["Proposal"])
    client = client_for(org.ops)
    page = client.get("/signals/rules/preview/", {"conditions": "status=open"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<strong>2</strong> deals match" in page
    page = client.get("/signals/rules/preview/", {"conditions": "min_amount=abc"}).content.decode()
    assert "Amount at least" in page


def test_the_list_detail_dry_run_and_switch(org: Any, client_for: Any) -> None:
    rule = _rule(org)
    client = client_for(org.ops)
    assert "Quiet deals" in client.get("/signals/rules/").content.decode()
    dry = client.get(f"/signals/rules/{rule.pk}/dry-run/", HTTP_HX_REQUEST="true")
    assert dry.status_code == 200 and "would have fired" in dry.content.decode()
    assert client.post(f"/signals/rules/{rule.pk}/switch/", {"live": "1"}).status_code == 302
    rule.refresh_from_db()
    assert rule.is_live


def test_everybody_but_sales_ops_gets_403(org: Any, client_for: Any, api_client_for: Any) -> None:
    rule = _rule(org)
    for person in (org.rep_a, org.manager_east, org.finance, org.director):
        client = client_for(person)
        for url in (
            "/signals/rules/",
            "/signals/rules/new/",
            f"/signals/rules/{rule.pk}/",
            "/signals/rules/999999/",
            f"/signals/rules/{rule.pk}/dry-run/",
            "/signals/rules/preview/",
        ):
            assert client.get(url).status_code == 403, (person, url)
        assert client.post(f"/signals/rules/{rule.pk}/switch/", {"live": "1"}).status_code == 403
        api = api_client_for(person)
        assert api.get("/api/v1/signals/rules/").status_code == 403
        assert api.get(f"/api/v1/signals/rules/{rule.pk}/").status_code == 403
    rule.refresh_from_db()
    assert not rule.is_live


def test_the_api_creates_switches_and_reads_firings(org: Any, api_client_for: Any) -> None:
    api = api_client_for(org.ops)
    response = api.post(
        "/api/v1/signals/rules/",
        {
            "name": "API rule",
            "trigger": "deal_change",
            "conditions": "status=open",
            "actions": [{"kind": "notify_owner"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert api.post(f"/api/v1/signals/rules/{pk}/switch/", {"live": True}, format="json").json()["is_live"] is True
    assert api.get(f"/api/v1/signals/rules/{pk}/firings/").json() == []
    bad = api.post(
        "/api/v1/signals/rules/",
        {"name": "x", "conditions": "colour=red", "actions": [{"kind": "notify_owner"}]},
        format="json",
    )
    assert bad.status_code == 400 and "colour" in bad.content.decode()


@pytest.mark.parametrize(
    "extra",
    [
        {"trigger": "kpi", "kpi": "open_pipeline", "kpi_threshold": "1e30"},
        {"trigger": "kpi", "kpi": "open_pipeline", "kpi_threshold": "99999999999999999"},
        {"trigger": "schedule", "every_minutes": "99999999999999999999"},
        {"trigger": "kpi", "kpi": "open_pipeline", "kpi_scope": "team", "kpi_scope_id": "99999999999999999999"},
    ],
)
def test_out_of_range_numbers_on_the_form_are_form_errors_not_500(
    org: Any, client_for: Any, extra: dict[str, str]
) -> None:
    client = client_for(org.ops)
    response = client.post(
        "/signals/rules/new/",
        {"name": "Too big", "conditions": "status=open", "action_kind_0": "notify_owner", **extra},
    )
    assert response.status_code == 400
    assert not Rule.objects.filter(name="Too big").exists()


def test_the_switch_sends_htmx_only_to_a_page_of_the_hub(org: Any, client_for: Any) -> None:
    rule = _rule(org)
    client = client_for(org.ops)
    away = client.post(f"/signals/rules/{rule.pk}/switch/", {"live": "1", "next": "https://evil.example/x"},
                       HTTP_HX_REQUEST="true")  # fmt: skip
    assert away.status_code == 204 and away["HX-Redirect"] == f"/signals/rules/{rule.pk}/"
    here = client.post(f"/signals/rules/{rule.pk}/switch/", {"live": "0", "next": "/signals/rules/"},
                       HTTP_HX_REQUEST="true")  # fmt: skip
    assert here["HX-Redirect"] == "/signals/rules/"


@pytest.mark.parametrize(
    "extra",
    [
        {"name": "Quiet\x00"},
        {"description": "a\x00b"},
        {"action_kind_0": "create_task", "action_subject_0": "Call\x00"},
    ],
)
def test_a_nul_character_on_the_rule_form_is_a_form_error_not_500(
    org: Any, client_for: Any, extra: dict[str, str]
) -> None:
    values = {
        "name": "Nul rule",
        "trigger": "deal_change",
        "conditions": "status=open",
        "action_kind_0": "notify_owner",
    }
    response = client_for(org.ops).post("/signals/rules/new/", {**values, **extra})
    assert response.status_code == 400
    assert not Rule.objects.exists()
