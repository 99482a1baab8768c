"""Notifications in a real browser: finance resolves a rep's dispute, and the rep, opening any page, sees the bell's
unread count and the notification in the list; marking it read empties the bell."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def disputed(transactional_db):
    from incentives import services
    from incentives.models import StatementLine
    from incentives.recompute import commission_recompute
    from tests.factories import UserFactory
    from tests.incentives.conftest import build_example

    people = build_example()
    commission_recompute()
    people["finance"] = UserFactory.create(username="fin1", is_rep=False, is_finance=True)
    line = StatementLine.objects.filter(payout__person=people["bob"], payout__period__label="2025-Q1").first()
    assert line is not None
    services.dispute_raise(actor=people["bob"], line=line, text="My split on this deal is 50 %, not 40 %")
    return people


def test_a_resolved_dispute_arrives_in_the_reps_bell(page, disputed):
    sign_in(page, "bob", "pw")
    assert page.locator("[data-testid=bell]").is_visible()
    assert page.locator("[data-testid=bell-count]").count() == 0  # nothing unread yet
    page.locator("details.menu summary").click()
    page.click("text=Sign out")
    page.wait_for_url("**/login/")

    sign_in(page, "fin1", "pw")
    page.click("[data-nav=disputes]")
    row = page.locator("[data-testid=disputes] tbody tr").first
    row.locator("input[name=amount]").fill("1000")
    row.locator("input[name=resolution]").fill("Split corrected to 50/50")
    row.locator("button", has_text="Resolve").click()
    page.wait_for_load_state("networkidle")
    assert "resolved" in page.locator(".messages").inner_text()
    page.locator("details.menu summary").click()
    page.click("text=Sign out")
    page.wait_for_url("**/login/")

    sign_in(page, "bob", "pw")
    page.goto("/pipeline/deals/")  # any page: the bell is in the header of every one
    assert page.locator("[data-testid=bell-count]").inner_text() == "1"
    page.click("[data-testid=bell]")
    note = page.locator("[data-testid=notification]").first
    assert "Your dispute on the 2025-Q1 statement was accepted: 1,000.00 is paid in 2025-Q1" in note.inner_text()
    assert "Split corrected to 50/50" in note.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "notifications.png"), full_page=True)
    note.locator("[data-testid=mark-read]").click()
    page.wait_for_selector("[data-testid=mark-unread]")
    page.locator("[data-testid=bell-count]").wait_for(state="detached")  # the bell counted again, by itself
    page.reload()
    assert page.locator("[data-testid=bell-count]").count() == 0
