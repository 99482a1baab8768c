"""The demo's notifications: each demo login has read and unread ones, dated in the last days, pointing at pages
they may open; seeding twice adds nothing."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone

from signals import demo_notifications
from signals.models import Notification
from tests.factories import DealFactory

pytestmark = pytest.mark.django_db


def test_each_demo_login_has_read_and_unread_notifications_they_may_open(org):
    today = timezone.localdate()
    DealFactory.create(owner=org.rep_a, name="Globex expansion")
    from forecasting import selectors as forecasting_selectors
    from forecasting import services as forecasting

    quarter = forecasting_selectors.current_period("quarter", today)
    forecasting.forecast_submit(actor=org.rep_a, period=quarter, commit="1000", best_case="2000")
    demo = SimpleNamespace(reps=[org.rep_a, org.rep_b, org.rep_c], managers=[org.manager_east], finance=org.finance,
                           ops=org.ops)  # fmt: skip
    counts = demo_notifications.seed(org=demo, seed=42, today=today)
    assert counts["notifications"] == Notification.objects.count() >= 10
    assert demo_notifications.seed(org=demo, seed=42, today=today) == {"notifications": 0}
    for person in (org.rep_a, org.manager_east, org.finance, org.ops):
        mine = Notification.objects.filter(recipient=person)
        assert mine.filter(read_at__isnull=True).exists() and mine.filter(read_at__isnull=False).exists(), person
        assert all(today - dt.timedelta(days=7) <= timezone.localtime(n.created_at).date() <= today for n in mine)
        client = Client()
        client.force_login(person)
        for note in mine:
            answer = client.post(f"/signals/notifications/{note.pk}/open/", follow=True)
            assert answer.status_code == 200, (person, note.title, note.url)
    assert Notification.objects.get(recipient=org.rep_a, kind="deal_assigned").title.endswith(
        "assigned Globex expansion to you"
    )
    # The manager's missed-call reminder names their own reports without a call: rep_b (East), not rep_a (who
    # called), never rep_c (West).
    missing = Notification.objects.get(recipient=org.manager_east, kind="forecast_call_missing")
    assert missing.body == org.rep_b.display_name and missing.title.startswith("One of your reports")
