"""incentives.services.quotas_publish: writes exactly the rows given (ramp applied), refuses locked periods."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from incentives import selectors as incentives_selectors
from incentives import services as incentives
from salesops.api import DomainError
from salesops.org.models import AuditEvent

pytestmark = pytest.mark.django_db


def _quotas() -> dict[tuple[int, str], Decimal]:
    return {
        (person, label): amount
        for label in ("2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4", "2026-Q4")
        for person, amount in incentives_selectors.bookings_quotas_of_period(label)
    }


def test_publish_writes_exactly_the_rows_ramp_applied(org) -> None:
    ramp = incentives.ramp_save(actor=org.ops, name="New hire", shares=["0.25", "0.5", "0.75"])
    org.rep_b.start_date = dt.date(2027, 2, 1)  # second month of 2027-Q1
    org.rep_b.save()
    untouched = incentives.quota_set(
        actor=org.ops, person=org.rep_c, period=incentives.period_get_or_create("2026-Q4"), amount="999.99"
    )
    rows = [
        (org.rep_a.pk, "2027-Q1", Decimal("10000.01"), None),
        (org.rep_a.pk, "2027-Q2", Decimal("10000.00"), None),
        (org.rep_b.pk, "2027-Q1", Decimal("9000.00"), ramp.pk),
        (org.rep_b.pk, "2027-Q2", Decimal("9000.00"), ramp.pk),
        (org.manager_east.pk, "2027-Q1", Decimal("21001.11"), None),
    ]
    assert incentives.quotas_publish(actor=org.ops, rows=rows, reason="Scenario FY27 base") == 5
    # rep_b: Q1 = 9000 x (0 + 0.25 + 0.5) / 3 = 2250.00; Q2 (months 3-5 of tenure) = 9000 x (0.75 + 1 + 1) / 3
    assert _quotas() == {
        (org.rep_a.pk, "2027-Q1"): Decimal("10000.01"),
        (org.rep_a.pk, "2027-Q2"): Decimal("10000.00"),
        (org.rep_b.pk, "2027-Q1"): Decimal("2250.00"),
        (org.rep_b.pk, "2027-Q2"): Decimal("8250.00"),
        (org.manager_east.pk, "2027-Q1"): Decimal("21001.11"),
        (org.rep_c.pk, "2026-Q4"): Decimal("999.99"),
    }
    untouched.refresh_from_db()
    assert untouched.amount == Decimal("999.99")
    audits = AuditEvent.objects.filter(entity="incentives.quota", reason__contains="Scenario FY27 base")
    assert audits.count() == 5
    # publishing again changes nothing and audits nothing more
    incentives.quotas_publish(actor=org.ops, rows=rows, reason="Scenario FY27 base")
    assert AuditEvent.objects.filter(entity="incentives.quota", reason__contains="Scenario FY27 base").count() == 5


def test_publish_refuses_a_locked_period_naming_person_and_period(org) -> None:
    period = incentives.period_get_or_create("2027-Q1")
    period.is_locked, period.locked_at = True, timezone.now()
    period.save()
    rows = [(org.rep_a.pk, "2027-Q2", Decimal("1.00"), None), (org.rep_b.pk, "2027-Q1", Decimal("1.00"), None)]
    with pytest.raises(DomainError) as refused:
        incentives.quotas_publish(actor=org.ops, rows=rows, reason="r")
    assert org.rep_b.display_name in refused.value.message and "2027-Q1" in refused.value.message
    assert _quotas() == {}


def test_publish_refuses_bad_rows(org) -> None:
    for row, words in [
        ((org.rep_a.pk, "2027-Q9", Decimal("1"), None), "not a period"),
        ((org.rep_a.pk, "2027-Q1", Decimal("-1"), None), "negative"),
        ((org.rep_a.pk, "2027-Q1", Decimal("1.001"), None), "cents"),
        ((org.rep_a.pk, "2027-Q1", Decimal("1"), 987654), "ramp"),
    ]:
        with pytest.raises(DomainError, match=words):
            incentives.quotas_publish(actor=org.ops, rows=[row], reason="r")
    assert _quotas() == {}
