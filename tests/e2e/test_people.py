"""Sales ops add a person in a real browser, with a first password typed in the form; the new person signs in
and sees their home. The org chart folds a manager's branch away."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.e2e

FIRST_PASSWORD = "Quota-Harbour-81"


@pytest.fixture
def company(transactional_db):
    from salesops.org.demo import seed_org

    return seed_org(seed=42, today=timezone.localdate())


def test_sales_ops_add_a_person_who_then_signs_in(page, company):
    from salesops.org.models import AuditEvent, User

    manager = User.objects.get(username="manager")
    sign_in(page, "ops")
    page.click("[data-nav=people]")
    page.click("[data-testid=add-person]")
    form = page.locator("[data-testid=person-add-form]")
    form.locator("#id_username").fill("nina")
    form.locator("#id_first_name").fill("Nina")
    form.locator("#id_last_name").fill("Okafor")
    form.locator("#id_email").fill("nina.okafor@example.com")
    form.locator("#id_title").fill("Account Executive")
    form.locator("#id_is_rep").check()
    form.locator("#id_manager").select_option(str(manager.pk))
    if manager.region_id:
        form.locator("#id_region").select_option(str(manager.region_id))
    if manager.team_id:
        form.locator("#id_team").select_option(str(manager.team_id))
    assert form.locator("#id_start_date").input_value() == timezone.localdate().isoformat()  # today, offered
    form.locator("input[name=sign_in][value=password]").check()
    form.locator("#id_password").fill(FIRST_PASSWORD)
    form.locator("button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text(  # waits for the page the submit opens
        "Added Nina Okafor: they sign in as nina with the first password you gave."
    )
    assert page.locator("h1").first.inner_text().startswith("Nina Okafor")
    nina = User.objects.get(username="nina")
    assert nina.manager == manager and nina.is_rep
    assert AuditEvent.objects.filter(entity="org.user", entity_id=str(nina.pk), action="create").exists()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "people-added.png"), full_page=True)

    page.locator("details.menu summary").click()
    page.click("text=Sign out")
    page.wait_for_url("**/login/")
    sign_in(page, "nina", FIRST_PASSWORD)
    assert page.url.endswith("/")
    assert page.locator("[data-testid=home-title]").inner_text() == "Welcome, Nina"
    assert "Rep" in page.locator("[data-testid=whoami]").inner_text()


def test_the_org_chart_folds_a_branch(page, company):
    sign_in(page, "ops")
    page.click("[data-nav=chart]")
    chart = page.locator("[data-testid=org-chart]")
    rep = chart.locator("li[data-person=rep]")
    expect(rep).to_be_visible()  # waits for the page the click opens
    manager = chart.locator("li[data-person=manager] > details > summary")
    manager.click()
    expect(rep).to_be_hidden()
    manager.click()
    expect(rep).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "org-chart.png"), full_page=True)
