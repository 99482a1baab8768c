"""The reporting dashboards' forecast-accuracy rows: forecasting's calls against the bookings, in two queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from forecasting.models import ForecastAdjustment, ForecastSubmission
from forecasting.selectors import accuracy_by_person
from tests.factories import DealFactory, default_stages

pytestmark = pytest.mark.django_db


def at(day: int, month: int = 3) -> dt.datetime:
    return timezone.make_aware(dt.datetime(2026, month, day, 12))


def test_calls_a_week_before_the_end_against_the_subtrees_bookings(org):
    ForecastSubmission.objects.create(person=org.rep_a, period="2026-03", commit=Decimal("8000"),
                                      best_case=Decimal("12000"), created_at=at(10))  # fmt: skip
    # Made after the week-before-end point: does not count.
    ForecastSubmission.objects.create(person=org.rep_a, period="2026-03", commit=Decimal("10000"),
                                      best_case=Decimal("12000"), created_at=at(30))  # fmt: skip
    ForecastAdjustment.objects.create(person=org.rep_a, manager=org.manager_east, period="2026-03",
                                      commit=Decimal("9000"), best_case=Decimal("9000"), created_at=at(12))  # fmt: skip
    # A later adjustment by someone who is not (or no longer) rep_a's manager does not count.
    ForecastAdjustment.objects.create(person=org.rep_a, manager=org.manager_west, period="2026-03",
                                      commit=Decimal("1000"), best_case=Decimal("1000"), created_at=at(13))  # fmt: skip
    ForecastSubmission.objects.create(person=org.manager_east, period="2026-03", commit=Decimal("20000"),
                                      best_case=Decimal("25000"), created_at=at(11))  # fmt: skip
    won = default_stages()["Closed Won"]
    DealFactory.create(owner=org.rep_a, stage=won, amount=Decimal("10000"), close_date=dt.date(2026, 3, 20))
    DealFactory.create(owner=org.rep_b, stage=won, amount=Decimal("15000"), close_date=dt.date(2026, 3, 5))
    DealFactory.create(owner=org.rep_b, stage=won, amount=Decimal("99999"), close_date=dt.date(2026, 4, 5))
    people = [org.manager_east.pk, org.rep_a.pk, org.rep_b.pk]
    with CaptureQueriesContext(connection) as queries:
        rows = accuracy_by_person(people=people, start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31))
    assert len(queries) == 2
    by_person = {r["person_id"]: r for r in rows}
    assert set(by_person) == {org.rep_a.pk, org.manager_east.pk}
    rep = by_person[org.rep_a.pk]
    assert (rep["actual"], rep["own_call"], rep["manager_call"]) == (Decimal("10000.00"), Decimal("8000.00"),
                                                                     Decimal("9000.00"))  # fmt: skip
    assert rep["own_call_accuracy"] == pytest.approx(0.8)
    assert rep["manager_call_accuracy"] == pytest.approx(0.9)
    manager = by_person[org.manager_east.pk]
    assert manager["actual"] == Decimal("25000.00")  # the subtree: rep_a's 10,000 and rep_b's 15,000
    assert manager["own_call_accuracy"] == pytest.approx(0.8)


def test_no_calls_means_one_query_and_no_rows(org):
    with CaptureQueriesContext(connection) as queries:
        assert accuracy_by_person(people=[org.rep_a.pk], start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31)) == []
    assert len(queries) == 1
