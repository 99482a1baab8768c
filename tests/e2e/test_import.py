"""Sales ops import a Salesforce report in a real browser: a broken file shows its row errors and writes
nothing; a clean one shows its dry run, then imports on a click; the next report's dry run lists every field
it would change, old and new, and its warnings, before anything is written."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.e2e

HEADER = ["Opportunity ID", "Opportunity Name", "Account Name", "Opportunity Owner", "Amount", "Close Date",
          "Stage", "Probability (%)", "Type", "Lead Source", "Created Date"]  # fmt: skip


@pytest.fixture
def company(transactional_db, settings, tmp_path):
    from tests.demo_snapshot import load_demo

    settings.MEDIA_ROOT = tmp_path / "media"
    load_demo()


def report(path: Path, owner: str, *, close_date: str = "9/30/2026", amount: str = "$48,000.00",
           stage: str = "Proposal") -> Path:  # fmt: skip
    from django.utils import timezone

    won = timezone.localdate()
    rows = [
        ["0068E00001", "Initech platform", "Initech LLC", owner, amount, close_date, stage, "60",
         "New Customer", "Web", "7/1/2026"],
        # Won today: in the current quarter, which the demo never locks (a deal won into a locked quarter is
        # refused), whatever the day the suite runs.
        ["0068E00002", "Umbrella renewal", "Umbrella Corp", owner, "12000", f"{won.month}/{won.day}/{won.year}",
         "Closed Won", "100", "Renewal", "Partner", "6/2/2026"],
        ["0068E00003", "Hooli pilot", "", "manager", "", "11/30/2026", "Prospecting", "10", "", "", "8/3/2026"],
    ]  # fmt: skip
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerows([HEADER, *rows])
    return path


def upload(page, path: Path) -> None:
    with page.expect_navigation():  # from the imports page itself: fill the form of the page the click opens
        page.click("[data-nav=imports]")
    page.set_input_files("input[name=file]", str(path))
    page.select_option("select[name=preset]", "salesforce")
    page.click("[data-testid=import-form] button[type=submit]")
    page.wait_for_selector(
        "[data-testid=import-status][data-status=done], [data-testid=import-status][data-status=failed]"
    )


def test_sales_ops_import_a_report_in_the_browser(page, company, celery_eager, tmp_path):
    from pipeline.models import Deal
    from salesops.org.models import User

    owner = User.objects.get(username="rep").display_name
    from pipeline.models import ImportJob

    demo_deals = Deal.objects.count()  # the demo company has its own
    demo_jobs = ImportJob.objects.count()  # and its own import (a HubSpot dry run waiting to be started)
    imported = Deal.objects.filter(external_id__startswith="0068E")
    sign_in(page, "ops")

    upload(page, report(tmp_path / "broken.csv", owner, close_date="31/9/2026"))
    status = page.locator("[data-testid=import-status]")
    assert "The dry run found problems: nothing was written" in status.inner_text()
    errors = page.locator("[data-testid=import-errors] li")
    assert errors.count() == 1
    assert errors.first.inner_text().startswith("row 2 (opportunity 0068E00001): close date '31/9/2026' is not a date")
    assert page.locator("[data-testid=import-run]").count() == 0
    assert not imported.exists() and Deal.objects.count() == demo_deals

    upload(page, report(tmp_path / "q3-opportunities.csv", owner))
    assert "Dry run finished: 3 rows checked, nothing written yet" in status.inner_text()
    assert status.locator("tr[data-kind=deals] td").all_inner_texts() == ["3", "0", "0"]
    assert status.locator("tr[data-kind=accounts] td").all_inner_texts() == ["2", "0", "0"]
    assert not imported.exists()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "import-dry-run.png"), full_page=True)

    page.click("[data-testid=import-run]")
    page.wait_for_selector("[data-testid=import-status][data-dry-run=false][data-status=done]")
    assert "Imported 3 rows" in status.inner_text()
    assert status.locator("tr[data-kind=deals] td").all_inner_texts() == ["3", "0", "0"]
    initech = Deal.objects.select_related("owner", "account", "stage").get(external_id="0068E00001")
    assert (initech.owner.username, str(initech.account), initech.stage.name, initech.amount) == (
        "rep", "Initech LLC", "Proposal", Decimal("48000.00")
    )  # fmt: skip
    assert Deal.objects.get(external_id="0068E00003").owner.username == "manager"
    assert Deal.objects.count() == demo_deals + 3
    page.screenshot(path=str(ARTIFACTS / "import-done.png"), full_page=True)

    page.click("text=All imports")
    jobs = page.locator("[data-testid=import-jobs] tbody tr")
    expect(jobs).to_have_count(demo_jobs + 2)  # waits for the page the click opens
    assert "q3-opportunities.csv" in jobs.first.inner_text() and "import" in jobs.first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "import-list.png"), full_page=True)

    # The next report moves Initech on: the dry run shows each change, old and new, and writes nothing.
    upload(page, report(tmp_path / "q3-update.csv", owner, amount="52000", stage="Negotiation"))
    assert "Dry run finished: 3 rows checked, nothing written yet" in status.inner_text()
    assert status.locator("tr[data-kind=deals] td").all_inner_texts() == ["0", "1", "2"]
    assert "Records the import would update: 1" in status.inner_text()
    changes = status.locator("[data-testid=import-changes] tbody tr")
    shown = {
        row.get_attribute("data-field"): (row.locator("td.old").inner_text(), row.locator("td.new").inner_text())
        for row in changes.all()
    }
    assert {row.get_attribute("data-record") for row in changes.all()} == {"opportunity 0068E00001"}
    assert shown["stage"] == ("Proposal", "Negotiation")
    assert shown["amount"] == ("48,000.00", "52,000.00")
    warnings = status.locator("[data-testid=import-warnings] li").all_inner_texts()
    assert "row 4 (opportunity 0068E00003): no amount: the deal is imported without one" in warnings
    assert "row 4 (opportunity 0068E00003): no account: the deal is imported without one" in warnings
    assert Deal.objects.get(external_id="0068E00001").amount == Decimal("48000.00")
    page.screenshot(path=str(ARTIFACTS / "import-dry-run-changes.png"), full_page=True)

    page.click("[data-testid=import-run]")
    page.wait_for_selector("[data-testid=import-status][data-dry-run=false][data-status=done]")
    assert "Records updated: 1" in status.inner_text()
    initech = Deal.objects.select_related("stage").get(external_id="0068E00001")
    assert (initech.stage.name, initech.amount) == ("Negotiation", Decimal("52000.00"))
