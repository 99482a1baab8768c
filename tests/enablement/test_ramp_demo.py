"""The ramp on the demo company equals a hand calculation: the demo (loaded once, rolled back afterwards) has reps
hired over the last years with quarterly quotas and won deals. For the cohort with the most reps, each rep's
attainment in months 1 to 3 is worked out here from the raw rows (won deals and their splits, the quota rows and
their periods), not through the ramp's selectors, and their median is compared with the API's and the page's."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from incentives.models import Quota
from pipeline.models import Deal, DealSplit, DealStatus
from salesops.kernel.fiscal import period_label
from salesops.org.models import User
from salesops.org.selectors import fiscal_calendar
from tests.demo_snapshot import load_demo

RATIO = Decimal("0.0001")


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock(), transaction.atomic():
        load_demo()
        yield
        transaction.set_rollback(True)


def _add_months(first: dt.date, months: int) -> dt.date:
    year, month0 = divmod(first.year * 12 + first.month - 1 + months, 12)
    return dt.date(year, month0 + 1, 1)


def _booked(person: User, month: dt.date) -> Decimal:
    """The person's credited bookings in the month, by hand: a revenue split's share, else the owner's whole."""
    end = _add_months(month, 1) - dt.timedelta(days=1)
    won = Deal.objects.filter(status=DealStatus.WON, cancelled_on__isnull=True, amount__isnull=False,
                              close_date__range=(month, end))  # fmt: skip
    splits: dict[int, list[DealSplit]] = {}
    for split in DealSplit.objects.filter(deal__in=won, is_overlay=False):
        splits.setdefault(split.deal_id, []).append(split)
    total = Decimal(0)
    for deal in won:
        assert deal.amount is not None  # (the filter)
        if deal.pk in splits:
            total += sum(
                (deal.amount * s.percent / 100 for s in splits[deal.pk] if s.person_id == person.pk), Decimal(0)
            )
        elif deal.owner_id == person.pk:
            total += deal.amount
    return total.quantize(Decimal("0.01"))


def _full_quota(person: User, month: dt.date) -> Decimal | None:
    """The full quota of the bookings quota whose period covers the month ÷ the period's months."""
    for quota in Quota.objects.filter(person=person, measure="bookings", is_team_sum=False).select_related("period"):
        period = quota.period
        if period.start <= month <= period.end:
            months = (period.end.year - period.start.year) * 12 + period.end.month - period.start.month + 1
            return (quota.full_amount / months).quantize(Decimal("0.01"))
    return None


@pytest.mark.django_db
def test_one_demo_cohort_median_equals_a_hand_calculation(demo: None) -> None:
    today = timezone.localdate()
    start_month = fiscal_calendar().fiscal_year_start_month
    since = (
        today.replace(year=today.year - 3) if (today.month, today.day) != (2, 29) else dt.date(today.year - 3, 2, 28)
    )
    reps = User.objects.filter(is_rep=True, start_date__gte=since, start_date__lte=today)
    by_cohort: dict[str, list[User]] = {}
    for rep in reps:
        assert rep.start_date is not None
        by_cohort.setdefault(period_label(rep.start_date, "quarter", start_month), []).append(rep)
    ops = User.objects.get(username="ops")
    body = APIClient()
    body.force_authenticate(ops)
    answer = body.get("/api/v1/enablement/ramp/").json()
    cohorts = {c["cohort"]: c for c in answer["cohorts"]}
    assert set(cohorts) == set(by_cohort)

    def hand(rep: User, k: int) -> Decimal | None:
        assert rep.start_date is not None
        month = _add_months(rep.start_date.replace(day=1), k - 1)
        if _add_months(month, 1) > today or (rep.end_date and month > rep.end_date):  # not over yet, or after leaving
            return None
        quota = _full_quota(rep, month)
        if not quota:
            return None
        return (_booked(rep, month) / quota).quantize(RATIO, rounding=ROUND_HALF_EVEN)

    def months_with_values(label: str) -> int:
        return sum(1 for rep in by_cohort[label] for k in (1, 2, 3) if hand(rep, k) is not None)

    label = max(by_cohort, key=lambda c: (len(by_cohort[c]), months_with_values(c), c))
    assert len(by_cohort[label]) >= 2, "the demo has no cohort of two reps: the check would prove little"
    checked = 0
    for k in (1, 2, 3):
        values = [v for v in (hand(rep, k) for rep in by_cohort[label]) if v is not None]
        point = cohorts[label]["points"][k - 1]
        assert point["n"] == len(values), (label, k)
        expected = statistics.median(values) if values else None
        assert (Decimal(point["median"]) if point["median"] is not None else None) == expected, (label, k, values)
        checked += len(values)
    assert checked, f"no completed month with a quota in cohort {label}: the demo's ramp would be empty"

    # The page's cohort table shows the same month-1 median.
    page = Client()
    page.force_login(ops)
    html = page.get("/enablement/ramp/").content.decode()
    row = html.split(f'data-cohort="{label}"', 1)[1].split("</tr>", 1)[0]
    month1 = cohorts[label]["points"][0]["median"]
    shown = f"{(Decimal(month1) * 100).quantize(Decimal('0.1')):,} %" if month1 is not None else "–"
    assert shown in row
