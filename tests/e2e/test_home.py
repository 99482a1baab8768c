"""Each demo role's home in a real browser shows the figures the selectors compute on the demo company
(loaded dated from today, so the expectations are derived from the day, never fixed)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from salesops.formats import count, money, percent
from tests.e2e.conftest import ARTIFACTS, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_company")]


def text(page, testid: str) -> str:
    return " ".join(page.locator(f"[data-testid={testid}]").first.inner_text().split())


def quarter():
    from home.panels import Today

    return Today.at(timezone.now(), timezone.localdate())


def test_rep_home_shows_the_reps_numbers(page):
    from forecasting import selectors as forecasting
    from incentives import selectors as incentives
    from pipeline import selectors as pipeline
    from salesops.org.models import User

    rep = User.objects.get(username="rep")
    today = quarter()
    sign_in(page, "rep")
    measured = incentives.bookings_attainment([rep.pk], today.quarter.label).get(rep.pk)
    assert text(page, "rep-attainment") == (percent(measured.attainment) if measured else "—")
    assert text(page, "rep-paid-to-date") == money(
        incentives.paid_to_date(rep, rep.pk, today.fiscal_year, today=today.day)
    )
    own = forecasting.own_numbers(today.quarter.label, [rep.pk])
    assert text(page, "rep-commit") == money(own.commit)
    assert text(page, "rep-best-case") == money(own.best_case)
    health = pipeline.open_deal_health(pipeline.deals_visible_to(rep).filter(owner=rep), today=today.day)
    assert health.count > 0  # the demo rep has open deals: the old home said "No deals yet"
    assert text(page, "rep-open-deals").startswith(count(health.count))
    assert text(page, "rep-past-close") == count(health.past_close_date)
    assert text(page, "rep-no-next-step") == count(health.no_next_step)
    called = rep.pk in forecasting.latest_calls(today.quarter.label, person_ids=[rep.pk])
    assert text(page, "rep-call") == ("In" if called else "Not in")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "home-numbers-rep.png"), full_page=True)
    page.click("[data-testid=rep-open-deals]")
    page.wait_for_url("**/pipeline/deals/**")


def test_manager_home_shows_the_teams_numbers(page):
    from forecasting import selectors as forecasting
    from incentives import selectors as incentives
    from pipeline import selectors as pipeline
    from salesops.org import selectors as org
    from salesops.org.models import User

    manager = User.objects.get(username="manager")
    today = quarter()
    sign_in(page, "manager")
    reports = list(org.direct_reports(manager))
    measured = incentives.bookings_attainment([manager.pk, *[r.pk for r in reports]], today.quarter.label)
    team = measured.get(manager.pk)
    assert text(page, "team-attainment") == (percent(team.attainment) if team else "—")
    for report in reports:
        mine = measured.get(report.pk)
        assert text(page, f"attainment-{report.pk}") == (percent(mine.attainment) if mine else "—")
    calls = forecasting.latest_calls(today.quarter.label, person_ids=[r.pk for r in reports])
    assert text(page, "missing-calls") == str(sum(1 for r in reports if r.is_active and r.pk not in calls))
    deals = pipeline.deals_visible_to(manager)
    at_risk = pipeline.deals_at_risk(deals, start=today.quarter.start, end=today.quarter.end, today=today.day)
    assert text(page, "at-risk") == count(at_risk.count)
    assert text(page, "stale-total") == count(sum(pipeline.stale_by_owner(deals).values()))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "home-numbers-manager.png"), full_page=True)


def test_finance_home_shows_each_period_to_close(page):
    from incentives import selectors as incentives

    today = quarter()
    sign_in(page, "finance")
    rows = incentives.periods_to_close(today=today.day)
    assert rows  # the demo's current quarter is open (it owes money): the old home said "No periods to close"
    for row in rows:
        assert text(page, f"payout-{row.period.label}") == money(row.payout_total)
        blockers = text(page, f"blockers-{row.period.label}")
        assert ("not ended" in blockers) == (not row.ended)
        if row.open_disputes:
            assert f"{row.open_disputes} open dispute" in blockers
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "home-numbers-finance.png"), full_page=True)


def test_sales_ops_home_shows_data_quality_and_pipeline_health(page):
    from incentives import selectors as incentives
    from pipeline import selectors as pipeline
    from salesops.org.models import User

    ops = User.objects.get(username="ops")
    today = quarter()
    sign_in(page, "ops")
    deals = pipeline.deals_visible_to(ops)
    assert text(page, "dq-past-close") == count(pipeline.dq_past_close_date(deals, today.day).count())
    assert text(page, "dq-missing") == count(pipeline.dq_missing_fields(deals).count())
    assert text(page, "dq-no-activity") == count(pipeline.dq_no_recent_activity(deals).count())
    health = pipeline.open_deal_health(deals, today=today.day)
    assert text(page, "health-open") == count(health.count)
    without = incentives.people_without_plan_or_quota(today=today.day, period_label=today.quarter.label)
    assert text(page, "without-plan") == str(sum(not w.has_plan for w in without))
    assert text(page, "without-quota") == str(sum(not w.has_quota for w in without))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "home-numbers-ops.png"), full_page=True)
