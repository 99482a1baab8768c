"""The deal lifecycle in a real browser: a card dropped on Closed Lost asks why and stays put without a reason;
a won deal cancelled on its page shows its clawback, with the cancellation as its cause, on the rep's statement.

Every date is derived from the day the test runs (the deal closed ten days ago, cancelled today)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from pipeline import services
from salesops import formats
from tests.e2e.conftest import ARTIFACTS, sign_in
from tests.factories import AccountFactory, ContactFactory, UserFactory

pytestmark = pytest.mark.e2e

PLAN = {
    "period": "quarter", "attainment_basis": "period", "clawback_days": 90,
    "components": [{"key": "commission", "type": "tiered_rate", "method": "marginal",
                    "tiers": [{"from": "0", "rate": "0.10"}]}],
}  # fmt: skip


@pytest.fixture
def lifecycle(transactional_db):
    from incentives import services as pay
    from salesops.kernel.fiscal import period_label
    from salesops.org.demo import seed_org
    from salesops.org.selectors import fiscal_calendar

    today = timezone.localdate()
    org = seed_org(seed=42, today=today)
    rep = next(r for r in org.reps if r.username == "rep")
    ops = UserFactory.create(username="ops_e2e", is_rep=False, is_sales_ops=True)
    account = AccountFactory.create(name="Umbrella Corp")
    open_deal = services.deal_create(actor=rep, name="Umbrella pilot", owner=rep, account=account, amount=Decimal("8000"),
                                     close_date=today + dt.timedelta(days=30))  # fmt: skip
    closed = today - dt.timedelta(days=10)
    won = services.deal_create(actor=rep, name="Umbrella rollout", owner=rep, account=account,
                               contact=ContactFactory.create(account=account), amount=Decimal("50000"),
                               close_date=closed)  # fmt: skip
    services.deal_move_stage(actor=rep, deal=won, stage=won.pipeline.stages.get(is_won=True))
    version = pay.plan_save_version(actor=ops, key="ae-e2e", name="AE", definition=PLAN,
                                    effective_from=today - dt.timedelta(days=400))  # fmt: skip
    pay.plan_assign(actor=ops, person=rep, plan=version.plan, start=today - dt.timedelta(days=400))
    start_month = fiscal_calendar().fiscal_year_start_month
    labels = {period_label(day, "quarter", start_month) for day in (closed, today)}
    for label in labels:
        pay.quota_set(actor=ops, person=rep, period=pay.period_get_or_create(label), amount=Decimal("100000"))
    return {"rep": rep, "open": open_deal, "won": won, "today": today,
            "label": period_label(today, "quarter", start_month)}  # fmt: skip


def drop_on_lost(page, deal_id: int) -> None:
    """Drag the card onto Closed Lost and wait for the form that asks why. The board swaps its columns in after
    every move (htmx): a drag that starts while they are being replaced drops nothing, so it is tried again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    asked = page.locator("[data-testid=lost-form] select[name=lost_reason]")
    for attempt in range(4):
        page.wait_for_load_state("networkidle")
        page.wait_for_function("() => !document.querySelector('.htmx-request')")  # no swap under way
        if asked.is_visible():  # an earlier drop's answer arrived late
            return
        page.drag_and_drop(f"[data-testid=card-{deal_id}]", "[data-testid=column-closed-lost]")
        try:
            asked.wait_for(timeout=8_000)
            return
        except PlaywrightTimeout:
            if attempt == 3:
                raise


def test_a_lost_drop_without_a_reason_is_refused_and_the_card_stays(page, lifecycle):
    deal = lifecycle["open"]
    page.set_viewport_size({"width": 2400, "height": 900})  # every column on screen: a drag does not scroll
    sign_in(page, "rep")
    page.click("[data-nav=board]")
    page.wait_for_selector(f"[data-testid=card-{deal.pk}]")
    start = (
        page.locator(f"[data-testid=card-{deal.pk}]").locator("xpath=ancestor::section[1]").get_attribute("data-testid")
    )
    drop_on_lost(page, deal.pk)
    form = page.locator("[data-testid=lost-form]")
    assert "Why is Umbrella pilot lost?" in form.inner_text()
    # The refusal reloads the columns (htmx): wait for that reload, so the next drag does not start on a card
    # that is about to be replaced (a drag whose source is swapped out mid-way drops nothing).
    with page.expect_response(lambda r: r.request.method == "GET" and "/pipeline/board/" in r.url, timeout=15_000):
        form.locator("[data-testid=lost-submit]").click()  # no reason chosen
    flash = page.locator("[data-testid=board-flash]")
    flash.filter(has_text="without a reason").wait_for()
    assert flash.inner_text().startswith(
        "Umbrella pilot cannot be closed as lost without a reason: choose one of Price"
    )
    page.wait_for_selector(f"[data-testid={start}] [data-testid=card-{deal.pk}]")
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason) == ("open", "")

    # Asked again, with a reason from the list: the card moves to Closed Lost.
    drop_on_lost(page, deal.pk)
    page.locator("[data-testid=lost-form] select[name=lost_reason]").select_option("Lost to competitor")
    page.fill("[data-testid=lost-form] input[name=lost_competitor]", "Initech")
    page.click("[data-testid=lost-submit]")
    page.wait_for_selector(f"[data-testid=column-closed-lost] [data-testid=card-{deal.pk}]")
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason, deal.lost_competitor) == ("lost", "Lost to competitor", "Initech")


def test_a_won_deal_cancelled_on_its_page_shows_its_clawback_on_the_statement(page, lifecycle):
    from incentives.models import Payout
    from incentives.recompute import commission_recompute

    won, today = lifecycle["won"], lifecycle["today"]
    sign_in(page, "rep")
    page.goto(f"/pipeline/deals/{won.pk}/")
    page.click("[data-testid=cancel-deal]")
    form = page.locator("[data-testid=cancel-form]")
    assert form.locator("input[name=date]").input_value() == today.isoformat()  # today unless said otherwise
    form.locator("input[name=reason]").fill("Customer went bankrupt")
    form.locator("[data-testid=cancel-submit]").click()
    page.wait_for_load_state("networkidle")
    assert f"Cancelled Umbrella rollout on {formats.day(today)}." in page.locator(".messages").inner_text()
    won.refresh_from_db()
    assert (won.cancelled_on, won.cancel_reason) == (today, "Customer went bankrupt")

    commission_recompute(triggered_by="test")  # what the queued recompute does
    payout = Payout.objects.get(person=lifecycle["rep"], period__label=lifecycle["label"])
    page.goto(f"/incentives/statements/{payout.pk}/")
    cause = page.locator("[data-testid=clawback-cause]")
    assert cause.inner_text() == (
        f"Clawback: Umbrella rollout cancelled on {formats.day(today)} (10 days after it closed): Customer went bankrupt"
    )
    row = cause.locator("xpath=ancestor::tr[1]")
    assert "-50,000.00" in row.inner_text() and "-5,000.00" in row.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "statement-clawback.png"), full_page=True)
