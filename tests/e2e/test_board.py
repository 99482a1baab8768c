"""The board in a real browser: dragging a card moves the deal; a blocked move says what is missing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from pipeline import services
from tests.e2e.conftest import ARTIFACTS, sign_in
from tests.factories import AccountFactory, default_stages

pytestmark = pytest.mark.e2e


@pytest.fixture
def board_deals(transactional_db):
    from salesops.org.demo import seed_org

    org = seed_org(seed=42, today=timezone.localdate())
    rep = next(r for r in org.reps if r.username == "rep")
    soon = timezone.localdate() + dt.timedelta(days=20)
    ready = services.deal_create(actor=rep, name="Ready Corp expansion", owner=rep, account=AccountFactory.create(name="Ready Corp"),
                                 amount=Decimal("12000"), close_date=soon)  # fmt: skip
    bare = services.deal_create(actor=rep, name="Bare lead deal", owner=rep, close_date=soon)
    return {"ready": ready, "bare": bare}


def column(page, name: str):
    return page.locator(f"[data-testid=column-{name}]")


def test_drag_a_card_to_move_it_and_see_a_blocked_move(page, board_deals):
    sign_in(page, "rep")
    page.click("[data-nav=board]")
    page.wait_for_selector("[data-testid=column-prospecting]")
    assert column(page, "prospecting").locator("[data-testid=count]").inner_text() == "2"

    ready = board_deals["ready"]
    page.drag_and_drop(f"[data-testid=card-{ready.pk}]", "[data-testid=column-qualification]")
    page.wait_for_selector(f"[data-testid=column-qualification] [data-testid=card-{ready.pk}]")
    assert "Moved Ready Corp expansion to Qualification." in page.locator("[data-testid=board-flash]").inner_text()
    assert column(page, "qualification").locator("[data-testid=count]").inner_text() == "1"
    assert column(page, "qualification").locator("[data-testid=amount]").inner_text() == "12,000"
    ready.refresh_from_db()
    assert ready.stage == default_stages()["Qualification"]

    bare = board_deals["bare"]
    page.drag_and_drop(f"[data-testid=card-{bare.pk}]", "[data-testid=column-discovery]")
    flash = page.locator("[data-testid=board-flash]")
    flash.filter(has_text="cannot enter").wait_for()
    assert flash.inner_text() == "Bare lead deal cannot enter Discovery: it needs an account, an amount."
    page.wait_for_selector(f"[data-testid=column-prospecting] [data-testid=card-{bare.pk}]")
    bare.refresh_from_db()
    assert bare.stage.name == "Prospecting"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "board.png"), full_page=True)


def test_inline_edit_on_the_deal_page(page, board_deals):
    sign_in(page, "rep")
    ready = board_deals["ready"]
    page.goto(f"/pipeline/deals/{ready.pk}/")
    page.click("[aria-label='Edit amount']")
    page.fill("#field-amount input[name=amount]", "15500.75")
    page.click("#field-amount button[type=submit]")
    page.locator("#field-amount .value").filter(has_text="15,500.75").wait_for()
    ready.refresh_from_db()
    assert ready.amount == Decimal("15500.75")
    page.reload()
    assert "12,000.00 → 15,500.75" in page.locator("[data-testid=timeline]").inner_text()
