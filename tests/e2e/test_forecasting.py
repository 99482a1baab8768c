"""Forecasting in a real browser: a rep submits a call, their manager adjusts it (the rep's call stays
beside it), overrides a deal's category from the grid's deal list, and opens the waterfall."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def forecast_company(transactional_db, org):
    from forecasting import services
    from pipeline import services as deals
    from tests.factories import default_stages
    from tests.forecasting.conftest import make_deal

    today = timezone.localdate()
    close = today + dt.timedelta(days=2) if (today + dt.timedelta(days=2)).month == today.month else today
    made = {
        "won": make_deal(org.rep_a, "Closed Won", "12000.00", today.replace(day=1)),
        "commit": make_deal(org.rep_a, "Negotiation", "20000.00", close, name="Globex renewal"),
        "pipe": make_deal(org.rep_a, "Prospecting", "3000.00", close, name="Initech pilot"),
        "b": make_deal(org.rep_b, "Proposal", "5000.00", close),
    }
    services.snapshot_take(day=today - dt.timedelta(days=7))
    deals.deal_move_stage(actor=org.rep_b, deal=made["b"], stage=default_stages()["Closed Won"])
    make_deal(org.rep_a, "Qualification", "4500.00", close, created_date=today, name="Umbrella expansion")
    services.snapshot_take(day=today)
    return made


def test_call_adjustment_category_override_and_waterfall(page, forecast_company, org):
    ARTIFACTS.mkdir(exist_ok=True)
    sign_in(page, "rep_a", "pw")
    page.click("[data-nav=forecast]")
    assert "Forecast" in page.locator("[data-testid=grid-title]").inner_text()
    assert "computed" in page.locator("[data-testid=computed-at]").inner_text()
    page.fill("[data-testid=call-commit]", "31000")
    page.fill("[data-testid=call-best-case]", "35000")
    page.fill("[data-testid=call-note]", "Globex signs this month")
    page.click("[data-testid=call-submit]")
    page.wait_for_load_state("networkidle")
    assert "call is in" in page.locator(".messages").inner_text()
    assert page.locator("[data-testid=call-rep_a]").inner_text().startswith("31,000")
    page.locator("details.menu summary").click()
    page.click("text=Sign out")
    page.wait_for_url("**/login/")

    sign_in(page, "mgr_east", "pw")
    page.click("[data-nav=forecast]")
    page.locator("[data-testid=adjust-rep_a] summary").click()
    form = page.locator("[data-testid=adjust-rep_a] form")
    form.locator("input[name=commit]").fill("26000")
    form.locator("input[name=best_case]").fill("32000")
    form.locator("input[name=note]").fill("Globex legal review slips")
    form.locator("button").click()
    # The grid before the post has the cell too (—): wait for the page the adjustment opens.
    expect(page.locator("[data-testid=adjustment-rep_a]")).to_have_text(re.compile(r"^26,000"), use_inner_text=True)
    assert page.locator("[data-testid=call-rep_a]").inner_text().startswith("31,000")  # the rep's call stays
    page.click("[data-testid=history-rep_a]")
    page.wait_for_selector("[data-testid=adjustment-history]")
    assert "Globex legal review slips" in page.locator("[data-testid=adjustment-history]").inner_text()
    assert "Globex signs this month" in page.locator("[data-testid=call-history]").inner_text()
    page.screenshot(path=str(ARTIFACTS / "forecast-grid.png"), full_page=True)

    page.click("[data-testid=pipeline-rep_a]")
    page.wait_for_selector("[data-testid=drill-deals]")
    # htmx wires up the swapped-in fragment after it settles: choose only then, or the change goes unheard.
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.querySelector('.htmx-settling, .htmx-swapping, .htmx-request')")
    pipe = forecast_company["pipe"]
    page.select_option(f"[data-testid=category-{pipe.pk}]", "commit")
    page.wait_for_selector(f"[data-testid=drill-deal-{pipe.pk}] .badge")
    pipe.refresh_from_db()
    assert pipe.category_override == "commit"

    page.click("[data-testid=tab-waterfall]")
    page.wait_for_selector("[data-testid=waterfall-chart] .plot-container")
    assert page.locator("[data-testid=amount-created]").inner_text() == "4,500.00"
    assert page.locator("[data-testid=amount-won]").inner_text() == "-5,000.00"
    assert "to the cent" in page.locator("[data-testid=waterfall-balance]").inner_text()
    page.locator("[data-testid=movement-created] a").click()
    page.wait_for_selector("[data-testid=waterfall-deals-title]")
    assert "Umbrella expansion" in page.locator("[data-testid=waterfall-deals]").inner_text()
    page.screenshot(path=str(ARTIFACTS / "forecast-waterfall.png"), full_page=True)
    assert page.locator("[data-testid=amount-end]").inner_text() == "27,500.00"
