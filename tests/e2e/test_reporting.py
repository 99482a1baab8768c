"""Dashboards in a real browser: each role's dashboard loads, a filter changes the figures and the address,
a number drills down to its deals, a panel exports to CSV and XLSX, a chart downloads as PNG, and the
figures equal `kpi_report` for the same filters."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.utils import timezone

from tests.e2e.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.e2e


def quarter_start(today: dt.date) -> dt.date:
    return dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)


@pytest.fixture
def company(transactional_db):
    """The demo people (logins manager, rep, finance, ops) and a few deals this quarter, facts built."""
    from incentives.models import Payout, Period
    from reporting.refresh import refresh_changed
    from salesops.org.demo import seed_org
    from tests.factories import ProductFactory, default_stages
    from tests.reporting.books import make_deal

    today = timezone.localdate()
    org = seed_org(seed=42, today=today)
    manager = next(m for m in org.managers if m.username == "manager")
    rep = next(r for r in org.reps if r.username == "rep")
    teammate = next(r for r in org.reps if r.manager_id == manager.pk and r.pk != rep.pk)
    outsider = next(r for r in org.reps if r.manager_id != manager.pk)
    s = default_stages()
    core, addon = ProductFactory.create(name="Core"), ProductFactory.create(name="Add-on")
    q = quarter_start(today)

    def day(offset: int) -> str:
        return (q + dt.timedelta(days=offset)).isoformat()

    won, lost, pro, prop = s["Closed Won"], s["Closed Lost"], s["Prospecting"], s["Proposal"]
    for owner, amount, product, closed in (
        (rep, "30000", core, 10),
        (rep, "12000", addon, 20),
        (teammate, "8000", core, 15),
        (outsider, "50000", core, 12),
    ):
        make_deal(
            owner=owner,
            stage=won,
            amount=amount,
            close=day(closed),
            created=day(closed - 30),
            product=product,
            path=[(pro, day(closed - 30)), (won, day(closed))],
            name=f"{product.name} for {owner.last_name}",
        )
    make_deal(
        owner=rep,
        stage=lost,
        amount="0",
        close=day(18),
        created=day(-5),
        product=core,
        path=[(pro, day(-5)), (lost, day(18))],
    )
    make_deal(
        owner=rep,
        stage=prop,
        amount="40000",
        close=day(80),
        created=day(1),
        product=core,
        path=[(pro, day(1)), (prop, day(9))],
        name="Big open deal",
    )
    period = Period.objects.create(
        label=f"{q.year}-Q{(q.month - 1) // 3 + 1}",
        kind="quarter",
        fiscal_year=q.year,
        start=q,
        end=dt.date(q.year + (q.month + 2) // 12, (q.month + 2) % 12 + 1, 1) - dt.timedelta(days=1),
    )
    Payout.objects.create(
        person=rep,
        period=period,
        quota=Decimal("100000"),
        credited=Decimal("42000"),
        attainment=Decimal("0.42"),
        earned=Decimal("4200"),
        payout=Decimal("4200"),
    )
    refresh_changed()
    return {"manager": manager, "rep": rep, "core": core, "period": period}


def stat(page, key: str) -> str:
    return page.locator(f"[data-testid=stat-{key}] .stat-value").inner_text()


def sign_out(page) -> None:
    page.locator("details.menu summary").click()
    page.click("text=Sign out")
    page.wait_for_url("**/login/")


def test_manager_filters_drills_down_and_exports(page, company):
    sign_in(page, "manager")
    page.click("[data-nav=dashboards]")
    page.click("[data-testid=open-manager]")
    page.wait_for_selector("[data-testid=dashboard-manager]")
    assert stat(page, "bookings") == "50,000"  # rep 30,000 + 12,000, teammate 8,000; the outsider is elsewhere
    assert page.locator("[data-testid=panel-forecast_accuracy]").get_attribute("data-state") == "empty"
    assert "appears once forecasts have history" in page.locator("[data-testid=panel-forecast_accuracy]").inner_text()

    # A filter swaps the figures in place and lands in the address, so the link reproduces the view.
    page.select_option("select[name=product]", label="Core")
    page.wait_for_url(f"**product={company['core'].pk}**")
    page.wait_for_function(  # a function, not an expression: Playwright polls an expression through eval (CSP)
        "() => document.querySelector('[data-testid=stat-bookings] .stat-value').innerText === '38,000'"
    )
    page.reload()
    assert stat(page, "bookings") == "38,000"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "reporting-manager.png"), full_page=True)

    # The chart downloads as PNG from its mode bar.
    chart = page.locator("[data-testid=chart-direct_reports]")
    chart.hover()
    with page.expect_download() as png:
        chart.locator(".modebar-btn[data-title='Download plot as a PNG']").click()
    assert png.value.suggested_filename.endswith(".png")

    # Every panel exports; the leaderboard's CSV carries the same numbers.
    with page.expect_download() as download:
        page.click("[data-testid=export-leaderboard-csv]")
    with open(download.value.path(), encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["bookings"] for r in rows) == ["30000.00", "8000.00"]

    # The number drills down to the deals behind it.
    page.click("[data-testid=stat-bookings]")
    page.wait_for_selector("[data-testid=drill-table]")
    assert page.locator("[data-testid=drill-count]").inner_text() == "2"
    assert page.locator("[data-testid=drill-amount]").inner_text() == "38,000.00"
    with page.expect_download() as download:
        page.click("[data-testid=drill-xlsx]")
    sheet = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
    assert sheet.max_row == 3 and sheet["C1"].value == "deal"


def test_rep_executive_and_finance_agree_with_kpi_report(page, company):
    from reporting.reports import kpi_report

    sign_in(page, "rep")
    page.goto("/reporting/")
    page.click("[data-testid=open-rep]")
    page.wait_for_selector("[data-testid=dashboard-rep]")
    assert stat(page, "bookings") == "42,000"
    assert stat(page, "commissions") == "4,200"
    assert page.locator("[data-testid=open-manager]").count() == 0
    assert page.locator("[data-testid=export-pipeline-xlsx]").count() == 0  # a rep exports their statement only
    sign_out(page)

    sign_in(page, "ops")
    page.goto("/reporting/executive/")
    page.wait_for_selector("[data-testid=dashboard-executive]")
    period = page.locator("[data-testid=dashboard-executive]").get_attribute("data-period")
    q = quarter_start(timezone.localdate())
    report = kpi_report(start=q, end=company["period"].end, by=None)[0]
    assert period == company["period"].label
    assert stat(page, "bookings") == f"{Decimal(report['bookings']):,.0f}" == "100,000"
    assert stat(page, "win_rate") == f"{report['win_rate'] * 100:.1f} %"
    by_region = {r["group"]: r for r in kpi_report(start=q, end=company["period"].end, by="region")}
    region = company["manager"].region
    page.select_option("select[name=region]", label=region.name)
    page.wait_for_url("**region=**")
    page.wait_for_function(
        "want => document.querySelector('[data-testid=stat-bookings] .stat-value').innerText === want",
        arg=f"{Decimal(by_region[region.name]['bookings']):,.0f}",
    )
    page.locator("[data-testid=table-by_product] a").nth(1).click()  # the first product's bookings
    page.wait_for_selector("[data-testid=drill-table]")
    assert "Core" in page.locator("[data-testid=drill-table]").inner_text()
    sign_out(page)

    sign_in(page, "finance")
    page.goto("/reporting/finance/")
    page.wait_for_selector("[data-testid=dashboard-finance]")
    assert stat(page, "expense") == "4,200"
    assert stat(page, "cost_of_sales") == "4.2 %"  # 4,200 ÷ 100,000
    with page.expect_download() as download:
        page.click("[data-testid=export-expense-csv]")
    with open(download.value.path(), encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert any(r["commission expense"] == "4200.00" for r in rows)
    page.screenshot(path=str(ARTIFACTS / "reporting-finance.png"), full_page=True)
