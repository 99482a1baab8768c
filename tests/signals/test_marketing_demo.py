"""The marketing demo: six campaigns over the last year with costs, members from the demo's leads and contacts
(some responded), touches on the demo's deals up to today, and an attribution report with figures for the demo
logins that may read it.

The whole demo company is loaded (the copy the other demo tests share, tests/demo_snapshot.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from salesops.org.models import User
from signals.models import Campaign, CampaignMember, CampaignTouch
from signals.selectors import marketing as selectors
from tests.demo_snapshot import load_demo


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock(), transaction.atomic():
        load_demo()
        yield
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_demo_campaigns_members_and_touches(demo: None) -> None:
    today = timezone.localdate()
    campaigns = list(Campaign.objects.order_by("start_date"))
    assert len(campaigns) == 6 and all(c.cost > 0 for c in campaigns)
    assert campaigns[0].start_date >= today - dt.timedelta(days=366)  # not today.replace(year=…): 29 February
    assert {c.type for c in campaigns} == {"webinar", "event", "email", "paid", "content", "partner"}
    assert CampaignMember.objects.filter(status="responded").exists()
    assert CampaignMember.objects.filter(lead_id__isnull=False).exists()
    assert CampaignMember.objects.filter(contact_id__isnull=False).exists()
    touches = CampaignTouch.objects.count()
    assert touches > 300
    assert not CampaignTouch.objects.filter(touched_at__date__gt=today).exists()


@pytest.mark.django_db
def test_demo_attribution_has_figures_for_the_logins(demo: None) -> None:
    today = timezone.localdate()
    ops = User.objects.get(username="ops")
    # On the fiscal year's first days nothing was created in it yet (only won): the year before carries the figures.
    for year in selectors.report_years(today)[:2]:
        report = selectors.attribution(ops, fiscal_year=year, model="w_shaped", today=today)
        if report.total("attributed_pipeline") > Decimal(0):
            break
    assert report.deals > 0 and report.total("attributed_pipeline") > Decimal(0)
    assert any(r.sourced_pipeline > 0 for r in report.rows) and any(r.attributed_bookings > 0 for r in report.rows)
    for login, status in (("manager", 200), ("finance", 200), ("ops", 200), ("rep", 403)):
        client = Client()
        client.force_login(User.objects.get(username=login))
        assert client.get(reverse("signals:attribution")).status_code == status, login
        assert client.get(reverse("signals:campaign_list")).status_code == 200
