"""Commissions in a real browser: a rep reads their statement and disputes a line, finance resolves it,
and the payroll file's totals match the register."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest

from tests.e2e.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def computed(transactional_db):
    from incentives.recompute import commission_recompute
    from tests.factories import UserFactory
    from tests.incentives.conftest import build_example

    people = build_example()
    commission_recompute()
    people["finance"] = UserFactory.create(username="fin1", is_rep=False, is_finance=True)
    return people


def test_rep_statement_dispute_resolved_by_finance_and_payroll_matches_register(page, computed):
    sign_in(page, "bob", "pw")
    page.click("[data-nav=pay]")
    page.locator("[data-testid=my-payouts] a", has_text="statement").last.click()
    assert "2025-Q1" in page.locator("[data-testid=statement-title]").inner_text()
    assert page.locator("[data-testid=statement-total]").inner_text() == "3,600.00"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "statement.png"), full_page=True)
    page.locator("[data-testid=statement-lines] summary", has_text="dispute").first.click()
    page.fill("[data-testid=statement-lines] textarea[name=text]", "My split on this deal is 50 %, not 40 %")
    page.click("text=Send to finance")
    page.wait_for_selector("[data-testid=dispute-status]")
    assert page.locator("[data-testid=dispute-status]").first.inner_text() == "Open"
    page.locator("details.menu summary").click()
    page.click("text=Sign out")
    page.wait_for_url("**/login/")

    sign_in(page, "fin1", "pw")
    page.click("[data-nav=disputes]")
    row = page.locator("[data-testid=disputes] tbody tr").first
    assert "50 %, not 40 %" in row.inner_text()
    row.locator("input[name=amount]").fill("1000")
    row.locator("input[name=resolution]").fill("Split corrected to 50/50")
    row.locator("button", has_text="Resolve").click()
    page.wait_for_load_state("networkidle")
    assert "resolved" in page.locator(".messages").inner_text()

    page.goto("/incentives/register/?period=2025-Q1")
    total = page.locator("[data-testid=register-total]").inner_text()
    assert total == "28,950.00"  # 20,150 + 3,600 + 4,200 + the 1,000 adjustment
    with page.expect_download() as download_info:
        page.click("[data-testid=payroll-csv]")
    path = download_info.value.path()
    with open(path, encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert sum(Decimal(r["payout"]) for r in rows) == Decimal(total.replace(",", ""))
    bob = next(r for r in rows if r["name"] == computed["bob"].display_name)
    assert (bob["earned"], bob["adjustments"], bob["payout"]) == ("3600.00", "1000.00", "4600.00")
    page.screenshot(path=str(ARTIFACTS / "register.png"), full_page=True)


def test_sales_ops_version_a_plan_in_the_form(page, computed):
    from incentives.models import CompPlanVersion

    sign_in(page, "ops1", "pw")
    page.click("[data-nav=plans]")
    # "text=AE" also matched a person's name in the header ("Michael" holds "ae"): the plan's link, exactly
    page.get_by_role("link", name="AE", exact=True).click()
    page.get_by_role("link", name="New version", exact=True).click()
    builder = page.locator("[data-testid=plan-builder]")
    assert builder.locator("input[name=tier_1_rate]").input_value() == "5"  # percentages in the form
    builder.locator("input[name=effective_from]").fill("2025-01-01")
    builder.locator("input[name=note]").fill("6 % first band")
    builder.locator("input[name=tier_1_rate]").fill("6")
    builder.locator("button", has_text="Save version").click()
    page.wait_for_load_state("networkidle")
    assert "ae has a version starting on 2025-01-01 already" in page.locator("[data-testid=plan-errors]").inner_text()
    builder.locator("input[name=effective_from]").fill("2025-04-01")
    builder.locator("button", has_text="Save version").click()
    page.wait_for_load_state("networkidle")
    assert "Saved AE version 2" in page.locator(".messages").inner_text()
    version = CompPlanVersion.objects.get(plan__key="ae", version=2)
    assert version.definition["components"][0]["tiers"][0] == {"from": "0", "rate": "0.06"}
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "plan-version.png"), full_page=True)


def test_finance_pays_a_dispute_in_the_next_quarter_locks_after_the_confirmation_and_the_rep_reads_it(page, computed):
    from incentives import services
    from incentives.models import Period, StatementLine

    line = StatementLine.objects.filter(payout__person=computed["bob"], payout__period__label="2025-Q1").first()
    assert line is not None
    services.dispute_raise(actor=computed["bob"], line=line, text="My split on this deal is 50 %, not 40 %")

    sign_in(page, "fin1", "pw")
    page.goto("/incentives/disputes/")
    row = page.locator("[data-testid=disputes] tbody tr").first
    assert row.locator("[data-testid=adjustment-period]").input_value() == "2025-Q1"  # the disputed one, open
    row.locator("input[name=amount]").fill("500")
    row.locator("[data-testid=adjustment-period]").select_option("2025-Q2")
    row.locator("input[name=resolution]").fill("Split corrected to 50/50")
    row.locator("button", has_text="Resolve").click()
    page.wait_for_load_state("networkidle")
    assert "500.00 paid in 2025-Q2" in page.locator(".messages").inner_text()

    page.goto("/incentives/register/?period=2025-Q1")
    page.click("[data-testid=lock-period]")
    assert page.locator("[data-testid=lock-total]").inner_text() == "27,950.00"  # 20,150 + 3,600 + 4,200
    assert page.locator("[data-testid=lock-open-disputes]").inner_text() == "0"
    assert "Done" in page.locator("[data-testid=lock-last-run]").inner_text()
    page.fill("[data-testid=lock-reason]", "Q1 payroll sent")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "lock-confirmation.png"), full_page=True)
    page.click("[data-testid=lock-confirm]")
    page.wait_for_load_state("networkidle")
    assert "2025-Q1 is locked" in page.locator(".messages").inner_text()
    assert Period.objects.get(label="2025-Q1").is_locked
    page.locator("details.menu summary").click()
    page.click("text=Sign out")
    page.wait_for_url("**/login/")

    sign_in(page, "bob", "pw")
    page.goto(f"/incentives/statements/{line.payout.pk}/")
    disputes = page.locator("[data-testid=statement-disputes]").inner_text()
    assert "Accepted" in disputes and "Split corrected to 50/50" in disputes and "500.00" in disputes
    assert page.locator("[data-testid=dispute-landed]").first.inner_text() == "2025-Q2"
    page.screenshot(path=str(ARTIFACTS / "statement-dispute-answer.png"), full_page=True)
