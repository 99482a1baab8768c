"""The adoption demo: twelve weeks of snapshots and sign-ins, and a roll-out live about five weeks with a rising
curve (relative to today)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from enablement.demo_adoption import ROLLOUT_NAME, seed_adoption
from enablement.engine import adoption as engine
from enablement.models import AdoptionSnapshot, Rollout
from enablement.selectors import adoption as selectors
from salesops.org.demo import DemoOrg
from tests.factories import ManagerFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_demo_has_weeks_of_snapshots_and_a_rising_rollout():
    director = ManagerFactory.create()
    ops = UserFactory.create(is_sales_ops=True, is_rep=False)
    reps = [UserFactory.create(manager=director) for _ in range(10)]
    today = timezone.localdate()
    counts = seed_adoption(org=DemoOrg(director=director, reps=reps, ops=ops), seed=7, today=today)
    assert counts["rollouts"] == 1 and counts["sign_in_events"] > 0
    weeks = set(AdoptionSnapshot.objects.values_list("week", flat=True))
    assert len(weeks) == 12 and engine.week_start(today) in weeks
    rollout = Rollout.objects.get(name=ROLLOUT_NAME)
    assert rollout.go_live == today - dt.timedelta(days=35)
    curve = selectors.rollout_curve(rollout, today=today)
    past = [p.share for p in curve[:-1]]  # this week's rows are live from (no) deals
    assert past[0] is not None and past[-1] is not None and past[-1] > past[0]
