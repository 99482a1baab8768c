"""Each demo role signs in through a real browser and sees its own home page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_company")]


@pytest.mark.parametrize(
    ("login", "panel", "role_label"),
    [
        ("rep", "rep", "Rep"),
        ("manager", "manager", "Manager"),
        ("finance", "finance", "Finance"),
        ("ops", "ops", "Sales ops"),
    ],
)
def test_demo_role_signs_in_and_sees_its_home(page, login, panel, role_label):
    from salesops.org.models import User

    person = User.objects.get(username=login)
    sign_in(page, login)
    assert page.url.endswith("/")
    assert page.locator("[data-testid=home-title]").inner_text() == f"Welcome, {person.first_name}"
    assert page.locator(f"[data-panel={panel}]").is_visible()
    assert role_label in page.locator("[data-testid=whoami]").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"home-{login}.png"), full_page=True)


def test_manager_filters_people_with_htmx_and_signs_out(page):
    sign_in(page, "manager")
    page.click("[data-nav=people]")
    page.wait_for_url("**/org/people/")  # a click does not wait for the page it opens
    table = page.locator("[data-testid=people-table]")
    expect(table.locator("tbody tr")).to_have_count(8)  # the manager and the seven reps of the team
    page.select_option("select[name=role]", "manager")
    page.wait_for_url("**role=manager**")
    expect(table.locator("tbody tr")).to_have_count(1)
    page.locator("details.menu summary").click()
    page.click("text=Sign out")
    page.wait_for_url("**/login/")


def test_wrong_password_shows_a_message(page):
    sign_in(page, "rep", password="wrong")
    assert "correct username and password" in page.content()
