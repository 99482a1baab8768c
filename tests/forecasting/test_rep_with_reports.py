"""A rep sees their own forecast only, even if someone happens to report to them (roles.md): the rows below, and
their numbers inside a subtree's totals, are the manager role's."""

from __future__ import annotations

from decimal import Decimal

import pytest

from forecasting import selectors
from forecasting.selectors import current_period
from salesops.kernel.fiscal import span_of
from tests.factories import DealFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def report_of_rep_a(org):
    report = UserFactory.create(username="rep_sub", first_name="Ottoline", manager=org.rep_a)
    # Closing at the end of the current quarter, whatever the day the suite runs.
    closing = span_of(current_period("quarter"), selectors.fiscal_start_month()).end
    DealFactory.create(owner=org.rep_a, amount=Decimal("10000.00"), close_date=closing)
    DealFactory.create(owner=report, amount=Decimal("7000.00"), close_date=closing)
    return report


def test_a_rep_with_a_report_sees_their_own_row_and_numbers_only(org, report_of_rep_a):
    grid = selectors.grid(org.rep_a, org.rep_a, current_period("quarter"))
    assert [row.person for row in grid.rows] == [org.rep_a]
    assert grid.rows[0].rollup.pipeline == Decimal("10000.00")


def test_their_manager_sees_the_report_and_the_subtree_total(org, report_of_rep_a):
    grid = selectors.grid(org.manager_east, org.rep_a, current_period("quarter"))
    assert [row.person for row in grid.rows] == [org.rep_a, report_of_rep_a]
    assert grid.rows[0].rollup.pipeline == Decimal("17000.00")


def test_the_accuracy_panel_and_person_page_name_no_report_to_the_rep(org, report_of_rep_a, client_for):
    rows = selectors.accuracy(org.rep_a, with_reports=selectors.sees_reports(org.rep_a))
    assert [row.person for row in rows] == [org.rep_a]
    client = client_for(org.rep_a)
    for url in ["/forecasting/", "/forecasting/accuracy/", f"/org/people/{org.rep_a.pk}/", "/api/v1/forecasting/grid/",
                "/api/v1/forecasting/accuracy/"]:  # fmt: skip
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Ottoline" not in response.content.decode(), url


def test_trend_waterfall_and_accuracy_show_a_rep_with_a_report_their_own_deals_only(
    org, report_of_rep_a, client_for, api_client_for
):
    """The trend, the waterfall (its deal list too) and the accuracy table of a rep with a report hold the
    rep's own deals: what the report created, or won last month, is the manager role's to see."""
    import datetime as dt

    from django.utils import timezone

    from forecasting import services
    from tests.forecasting.conftest import make_deal

    label = current_period("quarter")
    today = timezone.localdate()
    closing = span_of(label, selectors.fiscal_start_month()).end
    last_month = today.replace(day=1) - dt.timedelta(days=1)
    make_deal(report_of_rep_a, "Closed Won", "3000.00", last_month)
    services.snapshot_take(day=today - dt.timedelta(days=7))
    make_deal(report_of_rep_a, "Prospecting", "2500.00", closing, name="Ottoline's new deal")
    services.snapshot_take(day=today)

    rep, manager = api_client_for(org.rep_a), api_client_for(org.manager_east)
    own = rep.get("/api/v1/forecasting/waterfall/", {"period": label}).json()
    team = manager.get("/api/v1/forecasting/waterfall/", {"period": label, "person": org.rep_a.pk}).json()
    # The report's new deal arrived in the period (created, or pulled in with an earlier created date).
    moved = {m: a for m, a in team["movements"].items() if a != "0.00"}
    assert (team["start"], team["end"], list(moved.values())) == ("17000.00", "19500.00", ["2500.00"])
    assert (own["start"], own["end"], set(own["movements"].values())) == ("10000.00", "10000.00", {"0.00"})
    [movement] = moved
    page = client_for(org.rep_a).get("/forecasting/waterfall/deals/", {"period": label, "movement": movement})
    assert page.status_code == 200 and "No deals." in page.content.decode()
    assert "Ottoline" not in page.content.decode() and "2,500" not in page.content.decode()

    own_trend = rep.get("/api/v1/forecasting/trend/", {"period": label}).json()
    team_trend = manager.get("/api/v1/forecasting/trend/", {"period": label, "person": org.rep_a.pk}).json()
    assert [p["open_pipeline"] for p in own_trend] == [None, None]  # the snapshot holds the subtree: not shown
    assert [p["open_pipeline"] for p in team_trend] == ["17000.00", "19500.00"]

    month = last_month.strftime("%Y-%m")
    own_rows = rep.get("/api/v1/forecasting/accuracy/", {"kind": "month"}).json()
    team_rows = manager.get("/api/v1/forecasting/accuracy/", {"kind": "month", "person": org.rep_a.pk}).json()
    assert [r["name"] for r in own_rows] == [org.rep_a.display_name]
    assert {p["period"]: p["actual"] for p in own_rows[0]["periods"]}[month] == "0.00"
    assert {p["period"]: p["actual"] for p in team_rows[0]["periods"]}[month] == "3000.00"


def test_the_deals_behind_a_rep_s_number_are_their_own(org, report_of_rep_a, client_for, api_client_for):
    """The deals behind the rep's pipeline number hold their own deal: the report's 7,000 is not listed, not
    even as a credit (it is the manager role's to see)."""
    label = current_period("quarter")
    found = selectors.deals_for_number(org.rep_a, org.rep_a, label, "pipeline")
    assert [d.amount for d in found.deals] == [Decimal("10000.00")] and found.credit_only == []
    page = client_for(org.rep_a).get("/forecasting/deals/", {"period": label, "number": "pipeline"}).content.decode()
    assert "7,000" not in page and "credit only" not in page and "10,000" in page
    api = api_client_for(org.rep_a).get("/api/v1/forecasting/deals/", {"period": label, "number": "pipeline"}).json()
    assert api["count"] == 1
    team = selectors.deals_for_number(org.manager_east, org.rep_a, label, "pipeline")
    assert sorted(d.amount for d in team.deals) == [Decimal("7000.00"), Decimal("10000.00")]
