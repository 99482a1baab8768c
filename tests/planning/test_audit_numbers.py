"""What an audit of planning's numbers found: a year's capacity that was not the sum of its periods, trailing
bookings counting cancelled deals, and ids of thousands of digits answering a server error."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from planning.engine.scenario_json import run_json
from planning.selectors import territories as territory_selectors
from planning.services import territories as territory_services
from tests.factories import AccountFactory, DealFactory, default_stages


def test_the_years_capacity_and_gap_are_the_sums_of_its_periods() -> None:
    out = run_json(
        json.dumps(
            {
                "fiscal_year": 2027,
                "method": "bottom_up",
                "productivity": "1000.005",
                "target": "12000",
                "people": [{"id": "a"}],
            }
        )
    )
    periods = [Decimal(v) for k, v in out["capacity"].items() if k != "year"]
    assert periods == [Decimal("3000.02")] * 4
    assert Decimal(out["capacity"]["year"]) == sum(periods) == Decimal("12000.08")
    assert Decimal(out["gap"]["year"]) == sum(Decimal(v) for k, v in out["gap"].items() if k != "year")


@pytest.mark.django_db
def test_trailing_bookings_leave_cancelled_deals_out(org) -> None:
    account = AccountFactory.create(country="US", sector="retail", employees=300)
    model = territory_services.territory_model_create(actor=org.ops, name="FY27")
    root = model.territories.get()
    won = default_stages()["Closed Won"]
    DealFactory.create(
        account=account, owner=org.rep_c, stage=won, amount=Decimal("500.00"), close_date=dt.date(2026, 2, 1)
    )
    DealFactory.create(
        account=account, owner=org.rep_c, stage=won, amount=Decimal("900.00"), close_date=dt.date(2026, 2, 1),
        cancelled_on=dt.date(2026, 3, 1),
    )  # fmt: skip
    report = territory_selectors.balance_report(org.ops, model, today=dt.date(2026, 7, 15))
    balance = {r.territory.pk: r.balance for r in report.rows}
    assert balance[root.pk].trailing_bookings == Decimal("500.00")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/planning/scenarios/compare/?ids=" + "9" * 5000,
        "/api/v1/planning/scenarios/compare/?ids=" + "9" * 5000,
        "/api/v1/planning/territories/?model=" + "9" * 5000,
    ],
)
def test_ids_of_thousands_of_digits_answer_like_any_unknown_id(org, client_for, url) -> None:
    assert client_for(org.ops).get(url).status_code < 500
