"""The demo company keeps its promises (tests/demo_promises.py) on any day: loaded with the clock frozen at
the first and last day of a quarter and of the fiscal year (one of them a Sunday), the last day of a half-year, a
leap day and just after midnight on a Saturday. Each load runs in a transaction rolled back afterwards (the demo is
seeded for real at each date: some twenty seconds each)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from freezegun import freeze_time

# Imported before the clock is frozen: freezegun patches what is loaded while it is active.
import forecasting.demo  # noqa: F401
import incentives.demo  # noqa: F401
import pipeline.demo  # noqa: F401
import salesops.org.management.commands.seed_demo  # noqa: F401
from tests.demo_promises import broken_promises

EDGE_DATES = [
    "2027-01-01 09:00:00",  # first day of the fiscal year and of a quarter (a Friday)
    "2028-12-31 17:30:00",  # last day of the fiscal year and of a quarter, a Sunday
    "2028-04-01 00:03:00",  # first day of a quarter, a Saturday, three minutes after midnight
    "2027-06-30 12:00:00",  # last day of a half-year
    "2028-02-29 10:00:00",  # a leap day, the last day of a quarter's second month
]


@pytest.mark.parametrize("moment", EDGE_DATES)
@pytest.mark.django_db
def test_the_demo_keeps_its_promises_on_edge_dates(moment: str) -> None:
    with freeze_time(moment), transaction.atomic():
        call_command("seed_demo", "--seed", "42", stdout=io.StringIO())
        broken = broken_promises(timezone.localdate())
        transaction.set_rollback(True)
    assert not broken, "\n".join(broken)
