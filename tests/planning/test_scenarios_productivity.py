"""Productivity P of a computed scenario counts every rep in every month of the window they count in, with 0
for a month without bookings (docs/planning.md, "Productivity"). Hand-computed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from planning.engine import scenario_json
from planning.models import QuotaScenario
from planning.selectors import scenarios as selectors
from planning.services import scenarios as services
from tests.factories import DealFactory, default_stages

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 15)  # window: the four closed quarters 2025-Q4 to 2026-Q3, October 2025 to September 2026


def _person(pid: int, *, start: dt.date | None, ramp: tuple[Decimal, ...] = (), seller: bool = True):
    return selectors.PersonFacts(pid, f"p{pid}", None if pid == 1 else 1, seller, start, None, None, ramp)


def test_history_has_every_counted_month_with_zero_bookings() -> None:
    """Two reps over January to April 2026 and a manager (no rows):
    - rep 2, no start date (fully ramped): 12,000 in January, 6,000 in March, nothing in February and April;
      four rows, all at 100 %.
    - rep 3, starts 20 Feb (after the 15th: counts from March, tenure month 1 = March) on a ramp [0.5]:
      1,000 booked in February (no row: not counted), March at 50 % (left out of P), April at 100 % with 0.
    P = (12,000 + 0 + 6,000 + 0 + 0) / 5 fully ramped rep-months = 3,600.00.
    (Only months with bookings, as before, gave (12,000 + 6,000) / 2 = 9,000.)"""
    months = [dt.date(2026, m, 1) for m in (1, 2, 3, 4)]
    facts = selectors.ScenarioFacts(
        people={
            1: _person(1, start=None, seller=False),
            2: _person(2, start=None),
            3: _person(3, start=dt.date(2026, 2, 20), ramp=(Decimal("0.5"),)),
        },
        months=months,
        bookings={
            (2, dt.date(2026, 1, 1)): Decimal("12000.00"),
            (2, dt.date(2026, 3, 1)): Decimal("6000.00"),
            (3, dt.date(2026, 2, 1)): Decimal("1000.00"),
        },
    )
    scenario = QuotaScenario(name="P", fiscal_year=2027, method="bottom_up", basis="equal", inputs={})
    data = services.scenario_json_of(scenario, facts, {})
    assert data["history"] == [
        {"person": "2", "month": "2026-01", "bookings": "12000.00"},
        {"person": "2", "month": "2026-02", "bookings": "0.00"},
        {"person": "2", "month": "2026-03", "bookings": "6000.00"},
        {"person": "2", "month": "2026-04", "bookings": "0.00"},
        {"person": "3", "month": "2026-03", "bookings": "0.00"},
        {"person": "3", "month": "2026-04", "bookings": "0.00"},
    ]
    output = scenario_json.run(scenario_json.parse(data))
    assert output["fully_ramped_rep_months"] == 5
    assert output["productivity"] == "3600.00"


def test_an_end_date_before_the_15th_drops_that_month() -> None:
    """A rep whose last day is 10 March counts in January and February only (not employed on 15 March)."""
    months = [dt.date(2026, m, 1) for m in (1, 2, 3)]
    person = selectors.PersonFacts(2, "p2", None, True, dt.date(2024, 1, 15), dt.date(2026, 3, 10), None, ())
    facts = selectors.ScenarioFacts(
        people={2: person}, months=months, bookings={(2, dt.date(2026, 3, 1)): Decimal("500.00")}
    )
    scenario = QuotaScenario(name="P", fiscal_year=2027, method="bottom_up", basis="equal", inputs={})
    history = services.scenario_json_of(scenario, facts, {})["history"]
    assert [row["month"] for row in history] == ["2026-01", "2026-02"]
    assert {row["bookings"] for row in history} == {"0.00"}


def test_computed_scenario_productivity_counts_months_without_bookings(org) -> None:
    """Over October 2025 to September 2026 (12 months), the reps (started 2024-01-15, no ramp):
    - rep_a books 24,000 in January and 12,000 in March 2026: 12 rep-months, 36,000;
    - rep_b books nothing: 12 rep-months at 0;
    - rep_c starts again from 20 July 2026 (counts from August): 6,000 won in July (not a counted month) and
      3,000 in August: 2 rep-months (August, September), 3,000.
    P = (36,000 + 0 + 3,000) / (12 + 12 + 2) = 39,000 / 26 = 1,500.00."""
    org.rep_c.start_date = dt.date(2026, 7, 20)
    org.rep_c.save(update_fields=["start_date"])
    won = default_stages()["Closed Won"]
    for owner, amount, day in (
        (org.rep_a, "24000.00", dt.date(2026, 1, 20)),
        (org.rep_a, "12000.00", dt.date(2026, 3, 5)),
        (org.rep_c, "6000.00", dt.date(2026, 7, 25)),
        (org.rep_c, "3000.00", dt.date(2026, 8, 12)),
    ):
        DealFactory.create(owner=owner, stage=won, amount=Decimal(amount), close_date=day)
    scenario = services.scenario_create(
        actor=org.ops, name="P check", fiscal_year=2027, method="bottom_up", basis="equal", today=TODAY,
        inputs={"attainment": "1"},
    )  # fmt: skip
    scenario.refresh_from_db()
    assert scenario.result["productivity"] == "1500.00"
    assert scenario.result["productivity_source"] == "history"
