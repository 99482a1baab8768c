"""The pipeline side of lead hand-off (docs/signals-leads.md): a lead is routed when it is made and again when it
changes owner; its first answer is the first done activity logged with it, "mark answered", or its conversion;
only the first answer counts. Pages and API for the lead's hand-off, and the permissions on them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from freezegun import freeze_time

from pipeline import services
from pipeline.models import Lead, LeadStatus
from salesops.api import DomainError

pytestmark = pytest.mark.django_db

NINE = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def _lead(org, owner=None) -> Lead:
    with freeze_time(NINE):
        return services.lead_create(actor=org.ops, last_name="Ng", company="Ng Ltd", owner=owner or org.rep_a,
                                    source="Web")  # fmt: skip


def test_a_new_lead_is_routed_when_made_and_a_replayed_one_when_it_was_made(org) -> None:
    lead = _lead(org)
    assert lead.routed_at == NINE and lead.first_response_at is None
    earlier = NINE - dt.timedelta(days=3)
    old = services.lead_create(actor=org.ops, last_name="Old", company="Old", owner=org.rep_a, created_at=earlier)
    assert old.routed_at == earlier


def test_a_hand_over_routes_again_and_keeps_an_earlier_answer(org) -> None:
    lead = _lead(org)
    with freeze_time(NINE + dt.timedelta(hours=2)):
        lead = services.lead_assign(actor=org.manager_east, lead=lead, owner=org.rep_b)
    assert lead.owner == org.rep_b and lead.routed_at == NINE + dt.timedelta(hours=2)
    with freeze_time(NINE + dt.timedelta(hours=3)):
        services.lead_mark_answered(actor=org.rep_b, lead=lead)
        services.lead_assign(actor=org.manager_east, lead=lead, owner=org.rep_a)
    lead.refresh_from_db()
    assert lead.first_response_at == NINE + dt.timedelta(hours=3)  # answered stays answered


def test_the_first_done_activity_with_the_lead_answers_it_once(org) -> None:
    lead = _lead(org)
    planned = services.activity_create(actor=org.rep_a, kind="task", subject="Call back", lead=lead,
                                       occurred_at=NINE + dt.timedelta(minutes=5))  # fmt: skip
    lead.refresh_from_db()
    assert lead.first_response_at is None  # a task planned is not an answer
    services.activity_create(actor=org.rep_a, kind="call", subject="Intro", lead=lead,
                             occurred_at=NINE + dt.timedelta(minutes=42))  # fmt: skip
    services.activity_create(actor=org.rep_a, kind="email", subject="Deck", lead=lead,
                             occurred_at=NINE + dt.timedelta(minutes=50))  # fmt: skip
    lead.refresh_from_db()
    assert lead.first_response_at == NINE + dt.timedelta(minutes=42)
    with freeze_time(NINE + dt.timedelta(hours=1)):
        services.activity_complete(actor=org.rep_a, activity=planned)
    lead.refresh_from_db()
    assert lead.first_response_at == NINE + dt.timedelta(minutes=42)


def test_mark_answered_only_once_and_not_before_the_routing(org) -> None:
    lead = _lead(org)
    with pytest.raises(DomainError, match="routed on 2 Nov 2026, 09:00"):
        services.lead_mark_answered(actor=org.rep_a, lead=lead, at=NINE - dt.timedelta(minutes=1))
    services.lead_mark_answered(actor=org.rep_a, lead=lead, at=NINE + dt.timedelta(minutes=7))
    services.lead_mark_answered(actor=org.rep_a, lead=lead, at=NINE + dt.timedelta(minutes=70))
    lead.refresh_from_db()
    assert lead.first_response_at == NINE + dt.timedelta(minutes=7)


def test_converting_an_unanswered_lead_answers_it(org) -> None:
    lead = _lead(org)
    with freeze_time(NINE + dt.timedelta(hours=4)):
        lead = services.lead_convert(actor=org.rep_a, lead=lead, create_deal=False)
    assert lead.status == LeadStatus.CONVERTED and lead.first_response_at == NINE + dt.timedelta(hours=4)


def test_a_converted_lead_is_not_handed_over(org) -> None:
    lead = services.lead_convert(actor=org.rep_a, lead=_lead(org), create_deal=False)
    with pytest.raises(DomainError, match="converted"):
        services.lead_assign(actor=org.ops, lead=lead, owner=org.rep_b)


# ------------------------------------------------------------------------------------------------- pages
def test_the_lead_page_shows_the_hand_off_and_mark_answered(client_for, org) -> None:
    lead = _lead(org)
    client = client_for(org.rep_a)
    page = client.get(reverse("pipeline:lead_detail", args=[lead.pk])).content.decode()
    assert "2 Nov 2026" in page and "not answered yet" in page and 'data-testid="lead-mark-answered"' in page
    with freeze_time(NINE + dt.timedelta(hours=1, minutes=5)):
        fragment = client.post(reverse("pipeline:lead_answered", args=[lead.pk]), HTTP_HX_REQUEST="true")
    body = fragment.content.decode()
    assert fragment.status_code == 200 and "1 h 5 min" in body and "lead-mark-answered" not in body


def test_logging_a_call_on_the_lead_page_answers_it(client_for, org) -> None:
    lead = _lead(org)
    with freeze_time(NINE + dt.timedelta(minutes=12)):
        client_for(org.rep_a).post(reverse("pipeline:lead_activity_add", args=[lead.pk]),
                                   {"kind": "call", "subject": "Intro"})  # fmt: skip
    lead.refresh_from_db()
    assert lead.first_response_at == NINE + dt.timedelta(minutes=12)
    page = client_for(org.rep_a).get(reverse("pipeline:lead_detail", args=[lead.pk])).content.decode()
    assert "12 min" in page and "Intro" in page


def test_lead_page_permissions(client_for, org) -> None:
    lead = _lead(org)
    assert client_for(org.rep_b).get(reverse("pipeline:lead_detail", args=[lead.pk])).status_code == 404
    assert client_for(org.rep_c).post(reverse("pipeline:lead_answered", args=[lead.pk])).status_code == 404
    finance = client_for(org.finance)
    page = finance.get(reverse("pipeline:lead_detail", args=[lead.pk])).content.decode()
    assert "lead-mark-answered" not in page
    assert finance.post(reverse("pipeline:lead_answered", args=[lead.pk])).status_code == 403
    assert client_for(org.manager_east).post(reverse("pipeline:lead_assign", args=[lead.pk]),
                                             {"owner": org.rep_b.pk}).status_code == 302  # fmt: skip
    lead.refresh_from_db()
    assert lead.owner == org.rep_b
    # A manager hands a lead only to someone in their subtree.
    client_for(org.manager_east).post(reverse("pipeline:lead_assign", args=[lead.pk]), {"owner": org.rep_c.pk})
    lead.refresh_from_db()
    assert lead.owner == org.rep_b


def test_api_answered_assign_and_activity_with_a_lead(api_client_for, org) -> None:
    lead = _lead(org)
    api = api_client_for(org.rep_a)
    with freeze_time(NINE + dt.timedelta(minutes=3)):
        answer = api.post(f"/api/v1/leads/{lead.pk}/answered/")
    assert answer.status_code == 200 and answer.json()["first_response_at"].startswith("2026-11-02T09:03")
    other = _lead(org)
    made = api.post("/api/v1/activities/", {"kind": "call", "subject": "Hi", "lead": other.pk}, format="json")
    assert made.status_code == 201
    other.refresh_from_db()
    assert other.first_response_at is not None
    assert api_client_for(org.rep_c).post(f"/api/v1/leads/{lead.pk}/answered/").status_code == 404
    assert (
        api_client_for(org.finance).post(f"/api/v1/leads/{lead.pk}/assign/", {"owner": org.rep_b.pk}).status_code == 403
    )
    moved = api_client_for(org.ops).post(f"/api/v1/leads/{lead.pk}/assign/", {"owner": org.rep_c.pk})
    assert moved.status_code == 200 and moved.json()["owner"] == org.rep_c.pk
    # Someone outside the actor's scope is no owner they may name.
    assert api.post(f"/api/v1/leads/{other.pk}/assign/", {"owner": org.rep_c.pk}).status_code == 400


def test_an_answered_lead_handed_over_later_keeps_a_response_time_that_is_not_negative(org) -> None:
    """The report's response time is first answered − routed: re-routing an answered lead after its answer made it
    negative (and "within the SLA"), pulling the medians down."""
    lead = _lead(org)
    with freeze_time(NINE + dt.timedelta(minutes=30)):
        services.lead_mark_answered(actor=org.rep_a, lead=lead)
    with freeze_time(NINE + dt.timedelta(days=2)):
        services.lead_assign(actor=org.manager_east, lead=lead, owner=org.rep_b)
    lead.refresh_from_db()
    assert lead.owner == org.rep_b
    assert lead.routed_at == NINE and lead.first_response_at is not None
    assert lead.first_response_at - lead.routed_at == dt.timedelta(minutes=30)
