"""The demo's lead hand-off and product gaps (signals/demo_leads.py, pipeline/demo_handoff.py): SLA rows for the
demo's sources, leads routed and answered relative to now with a few breached now, product gaps on a share of the
lost deals kept in their history; first on a small hand-made pipeline, then on the demo company itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from pipeline import services
from pipeline.models import Deal, DealChange, DealStatus, Lead, LeadStatus
from salesops.org.models import User
from signals import demo_leads
from signals.models import ResponseSla
from signals.selectors.leads import breached_leads
from tests.factories import DealFactory, default_stages


@pytest.mark.django_db
def test_the_demo_seed_on_a_small_pipeline(org) -> None:
    services.lost_reasons()
    lost = default_stages()["Closed Lost"]
    for i in range(10):
        DealFactory.create(owner=org.rep_a, stage=lost, lost_reason="Feature gap" if i < 3 else "Price")
    statuses = [LeadStatus.NEW] * 6 + [LeadStatus.WORKING] * 3 + [LeadStatus.DISQUALIFIED] * 2
    for i, status in enumerate(statuses):
        services.lead_create(actor=org.ops, last_name=f"L{i}", company="Co", owner=org.rep_b, source="Inbound",
                             status=status)  # fmt: skip
    today = timezone.localdate()
    counts = demo_leads.seed(org=org, seed=7, today=today)
    assert counts["response_slas"] == ResponseSla.objects.count() == 5
    assert ResponseSla.objects.get(source="").minutes == 240
    assert counts["leads_routed"] == 11 and counts["leads_answered"] + counts["leads_waiting"] == 11
    breached = breached_leads(timezone.now())
    assert len(breached) >= 4 and {b.owner_id for b in breached} == {org.rep_b.pk}
    assert {b.manager_id for b in breached} == {org.manager_east.pk}
    now = timezone.now()
    for lead in Lead.objects.all():
        assert lead.routed_at is not None and now - dt.timedelta(days=61) <= lead.routed_at <= now
        assert lead.first_response_at is None or lead.routed_at < lead.first_response_at <= now
    gaps = Deal.objects.exclude(product_gap="")
    assert counts["product_gaps"] == gaps.count() == 4  # 45 % of 10, rounded
    assert set(gaps.values_list("lost_reason", flat=True)) >= {"Feature gap"}
    assert DealChange.objects.filter(field="product_gap").count() == 4


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    from tests.demo_snapshot import load_demo

    with django_db_blocker.unblock(), transaction.atomic():
        load_demo()
        yield
        transaction.set_rollback(True)


@pytest.mark.django_db  # without it, run alone, the module's demo fixture wrote to the development database
def test_the_demo_company_has_breaches_now_and_product_gaps(demo: None) -> None:
    breached = breached_leads(timezone.now())
    assert len(breached) >= 3
    assert all(b.manager_id for b in breached)  # the rules escalate each to a manager
    lost = Deal.objects.filter(status=DealStatus.LOST)
    with_gap = lost.exclude(product_gap="").count()
    assert 0.3 * lost.count() <= with_gap <= 0.6 * lost.count()
    answered = Lead.objects.filter(first_response_at__isnull=False).count()
    assert answered >= 0.7 * Lead.objects.count()


@pytest.mark.parametrize("login", ["rep", "manager", "finance", "ops"])
def test_the_demo_logins_open_the_pages(demo: None, login: str) -> None:
    client = Client()
    client.force_login(User.objects.get(username=login))
    response = client.get("/signals/leads/response/")
    assert response.status_code == 200
    assert response.context["report"].total.stats.routed > 0
    winloss = client.get("/signals/winloss/", {"by": "reason"})
    assert winloss.status_code == 200
    report = winloss.context["report"]
    assert report.total.lost > 0 and sum(r.lost for r in report.rows) == report.total.lost
    if login != "rep":
        assert winloss.context["gaps"].gaps  # managers, finance and ops see product gaps
    gaps = client.get("/signals/winloss/product-gaps/", {"format": "csv"})
    assert gaps.status_code == (403 if login == "rep" else 200)
