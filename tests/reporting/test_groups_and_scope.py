"""What a reporting audit found: quotas and pay of people outside the viewer's filters, group rows that did not
add up to the headline or drill into their own deals, a month cut by a custom range, the company's time zone
for "no activity", a rep's manager shown as an id, and odd `stage` values."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from urllib.parse import urlparse

import pytest
from django.http import QueryDict
from django.test import override_settings
from django.utils import timezone

from incentives.models import Payout, Period, Quota
from pipeline.models import Deal
from reporting import queries
from reporting.builders import build_dashboard
from reporting.refresh import refresh_changed
from tests.factories import UserFactory, default_stages
from tests.reporting.books import make_deal

Q1 = {"period": "2026-Q1"}
AFTER = dt.date(2026, 5, 1)


def _q1() -> Period:
    return Period.objects.create(
        label="2026-Q1", kind="quarter", fiscal_year=2026, start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31)
    )


def _won(owner, amount: str, close: str) -> Deal:
    s = default_stages()
    return make_deal(
        owner=owner,
        stage=s["Closed Won"],
        amount=amount,
        close=close,
        created="2025-12-01",
        path=[(s["Prospecting"], "2025-12-01"), (s["Closed Won"], close)],
    )


def _panel(built, key: str):
    panel = built.board.panel(key)
    assert panel is not None, key
    return panel


def _paid(period: Period, *earnings: tuple) -> None:
    """Stored payouts of these (person, earned) pairs, as a recompute leaves them."""
    for person, earned in earnings:
        Payout.objects.create(
            person=person,
            period=period,
            quota=Decimal(1),
            credited=Decimal(0),
            attainment=Decimal(0),
            earned=Decimal(earned),
            payout=Decimal(earned),
        )


def _stats(board: dict) -> dict:
    return {s["key"]: s for s in board["panels"][0]["stats"]}


def _drill(client, href: str | None) -> dict:
    assert href, "the cell has no drill-down link"
    response = client.get("/api/v1/reporting/deals/", QueryDict(urlparse(href).query))
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize("board", ["manager", "executive"])
def test_a_managers_attainment_counts_only_their_peoples_quota(org, api_client_for, board):
    """Only rep_a has deals, so everyone with a deal is in manager_east's team; rep_c's quota (West) is not."""
    _won(org.rep_a, "10000", "2026-02-10")
    period = _q1()
    Quota.objects.create(person=org.rep_a, period=period, measure="bookings", full_amount=40000, amount=40000)
    Quota.objects.create(person=org.rep_c, period=period, measure="bookings", full_amount=60000, amount=60000)
    refresh_changed()
    stats = _stats(api_client_for(org.manager_east).get(f"/api/v1/reporting/dashboards/{board}/", Q1).json())
    assert stats["attainment"]["value"] == 0.25  # 10,000 of rep_a's 40,000, not of 100,000
    assert "60,000" not in stats["attainment"]["text"] and "100,000" not in stats["attainment"]["text"]
    # Sales ops see everyone: both quotas count.
    stats = _stats(api_client_for(org.ops).get(f"/api/v1/reporting/dashboards/{board}/", Q1).json())
    assert stats["attainment"]["value"] == 0.1


def test_finance_commission_expense_keeps_to_the_region_filter(org, api_client_for):
    _won(org.rep_a, "10000", "2026-02-10")
    period = _q1()
    _paid(period, (org.rep_a, "1000"), (org.rep_c, "9000"))
    refresh_changed()
    client = api_client_for(org.finance)
    east = org.rep_a.region_id
    assert (
        _stats(client.get("/api/v1/reporting/dashboards/finance/", {**Q1, "region": east}).json())["expense"]["value"]
        == "1000.00"
    )
    assert _stats(client.get("/api/v1/reporting/dashboards/finance/", Q1).json())["expense"]["value"] == "10000.00"


def test_finance_no_region_row_drills_into_the_deals_of_no_region(org, api_client_for):
    loner = UserFactory.create(username="noregion", manager=org.director)
    _won(loner, "7000", "2026-02-10")
    _won(org.rep_a, "10000", "2026-02-10")
    period = _q1()
    _paid(period, (loner, "700"), (org.rep_a, "1000"))
    refresh_changed()
    built = build_dashboard(org.finance, "finance", QueryDict("period=2026-Q1"), AFTER, full_tables=True)
    row = next(r for r in _panel(built, "expense").rows if r[1].text == "No region")
    assert row[2].value == Decimal(700)
    assert _drill(api_client_for(org.finance), row[2].href)["amount"] == "7000.00"


def test_group_tables_add_up_and_no_group_rows_drill_into_their_own_deals(book, api_client_for, client_for):
    """Someone of no region and no team wins 7,000: the By region and By team tables show that row, and its
    link (region=0) lists exactly that deal; the "No product" row's link lists the deals of no product."""
    loner = UserFactory.create(username="noregion", manager=book.org.director)
    _won(loner, "7000", "2026-02-10")
    refresh_changed()
    built = build_dashboard(book.org.ops, "executive", QueryDict("period=2026-Q1"), AFTER, full_tables=True)
    headline = {s.key: s.value for s in _panel(built, "headline").stats}
    assert headline["bookings"] == Decimal(72000)
    client = api_client_for(book.org.ops)
    for key, label in (("by_region", "No region"), ("by_team", "No team")):
        panel = _panel(built, key)
        assert sum(row[1].value for row in panel.rows) == Decimal(72000), key
        row = next(r for r in panel.rows if r[0].text == label)
        assert row[1].value == Decimal(7000)
        drill = _drill(client, row[1].href)
        assert (drill["count"], drill["amount"]) == (1, "7000.00")
    panel = _panel(built, "by_product")
    header = panel.header
    row = next(r for r in panel.rows if r[0].text == "No product")
    for measure in ("won", "lost"):
        cell = row[header.index(measure)]
        assert _drill(client, cell.href)["count"] == cell.value, measure
    # The page says what the list is narrowed to.
    response = client_for(book.org.ops).get("/reporting/deals/", {**Q1, "measure": "won", "region": "0"})
    assert response.status_code == 200 and "No region" in response.content.decode()


def test_the_filter_bar_offers_the_groups_of_none(book, client_for):
    body = client_for(book.org.ops).get("/reporting/executive/", {**Q1, "product": "0"}).content.decode()
    assert '<option value="0" selected>No product</option>' in body
    assert '<option value="0">No region</option>' in body


@pytest.mark.parametrize(
    ("wins", "query", "month", "shown"),
    [
        # Starting mid-month: 1–9 January (before the range) and 10–31 January add up.
        ((("5000", "2026-01-05"), ("7000", "2026-01-20")), "from=2026-01-10&to=2026-03-31", "2026-01", 12000),
        # Ending mid-month: March stops on the 15th, and its link lists that part only.
        ((("5000", "2026-03-10"), ("7000", "2026-03-20")), "from=2026-01-01&to=2026-03-15", "2026-03", 5000),
    ],
)
def test_a_month_cut_by_a_custom_range(org, api_client_for, wins, query, month, shown):
    for amount, day in wins:
        _won(org.rep_a, amount, day)
    refresh_changed()
    built = build_dashboard(org.manager_east, "manager", QueryDict(query), AFTER, full_tables=True)
    row = next(r for r in _panel(built, "bookings_vs_quota").rows if r[0].text == month)
    assert row[1].value == Decimal(shown)
    assert _drill(api_client_for(org.manager_east), row[1].href)["amount"] == f"{shown}.00"


@pytest.mark.parametrize(("hour", "at_risk"), [(10, 1), (20, 1), (0, 1)])
@override_settings(TIME_ZONE="America/Los_Angeles")
def test_no_activity_is_counted_in_the_companys_days(org, hour, at_risk):
    """Last activity on 28 Feb, local time, is 31 days before 31 Mar whatever the hour (20:00 in Los Angeles is
    already 1 Mar in UTC)."""
    s = default_stages()
    pro, qual, won = s["Prospecting"], s["Qualification"], s["Closed Won"]
    for _ in range(3):
        make_deal(
            owner=org.rep_a,
            stage=won,
            amount="1000",
            close="2026-01-20",
            created="2026-01-10",
            path=[(pro, "2026-01-10"), (qual, "2026-01-16"), (won, "2026-01-18")],
        )
    deal = make_deal(
        owner=org.rep_a,
        stage=qual,
        amount="5000",
        close="2026-03-31",
        created="2026-01-02",
        path=[(pro, "2026-01-02"), (qual, "2026-01-05")],
    )
    la = zoneinfo.ZoneInfo("America/Los_Angeles")
    Deal.objects.filter(pk=deal.pk).update(
        last_activity_at=dt.datetime(2026, 2, 28, hour, 0, tzinfo=la), updated_at=timezone.now()
    )
    refresh_changed()
    slc = queries.Slice(dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    count, _, _ = queries.deals_at_risk(slc, today=dt.date(2026, 3, 31), factor=3.0, quiet_days=30)
    assert count == at_risk
    # The panel shows the close date and the last activity's day (the company's) in words.
    built = build_dashboard(org.manager_east, "manager", QueryDict("period=2026-Q1"), dt.date(2026, 3, 31))
    (row,) = _panel(built, "at_risk").rows
    assert [row[4].text, row[7].text] == ["31 Mar 2026", "28 Feb 2026"]
    # One day later the activity is 30 days old: not quiet for 30 days yet.
    Deal.objects.filter(pk=deal.pk).update(
        last_activity_at=dt.datetime(2026, 3, 1, 0, 30, tzinfo=la), updated_at=timezone.now()
    )
    refresh_changed()
    count, _, _ = queries.deals_at_risk(slc, today=dt.date(2026, 3, 31), factor=3.0, quiet_days=30)
    assert count == 0


def test_a_reps_report_by_manager_names_their_manager(book, api_client_for):
    rows = api_client_for(book.org.rep_a).get("/api/v1/reporting/kpis/", {**Q1, "by": "manager"}).json()
    assert [r["group"] for r in rows] == [book.org.manager_east.get_full_name()]


@pytest.mark.parametrize("stage", ["²", "٣", "99999999999999999999", "-1", "1.5"])
def test_odd_stage_values_are_ignored(book, client_for, api_client_for, stage):
    params = {**Q1, "measure": "open", "stage": stage}
    assert client_for(book.org.ops).get("/reporting/deals/", params).status_code == 200
    response = api_client_for(book.org.ops).get("/api/v1/reporting/deals/", params)
    assert response.status_code == 200
