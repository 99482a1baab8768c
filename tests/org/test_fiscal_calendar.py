"""The fiscal calendar's settings (salesops.org): reading never writes; only the service saves them."""

from __future__ import annotations

import pytest

from salesops.api import DomainError
from salesops.org.models import AuditEvent, FiscalCalendar
from salesops.org.selectors import fiscal_calendar
from salesops.org.services import fiscal_calendar_update


def test_reading_the_calendar_creates_no_row(db, django_assert_num_queries):
    with django_assert_num_queries(1):
        calendar = fiscal_calendar()
    assert (calendar.pk, calendar.fiscal_year_start_month, calendar.currency) == (None, 1, "USD")
    assert not FiscalCalendar.objects.exists()


def test_the_service_creates_then_changes_the_one_row(db, org):
    fiscal_calendar_update(actor=org.ops, fiscal_year_start_month=4)
    fiscal_calendar_update(actor=org.ops, currency="eur")
    row = FiscalCalendar.objects.get()
    assert (row.fiscal_year_start_month, row.currency) == (4, "EUR")
    assert fiscal_calendar().pk == row.pk
    assert FiscalCalendar._meta.db_table == "incentives_fiscalcalendar"
    actions = list(
        AuditEvent.objects.filter(entity="org.fiscalcalendar").order_by("id").values_list("action", flat=True)
    )
    assert actions == ["create", "update"]


@pytest.mark.parametrize(("values", "field"), [({"fiscal_year_start_month": 13}, "fiscal_year_start_month"),
                                                ({"currency": "EURO"}, "currency")])  # fmt: skip
def test_the_service_refuses_what_no_calendar_has(db, org, values, field):
    with pytest.raises(DomainError) as refused:
        fiscal_calendar_update(actor=org.ops, **values)
    assert refused.value.field == field
    assert not FiscalCalendar.objects.exists()
