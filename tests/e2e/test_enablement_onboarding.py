"""Onboarding in a real browser: sales ops keep a "Rep onboarding" programme auto-assigned to reps; a new hire is
added with a start date three weeks ago (the org service, so the person_changed event enrols them on commit), signs
in and sees their checklist with due dates on their home, overdue steps marked, then opens My onboarding and ticks
a step. Dates derive from today; the data is built with the factories and services (never the demo)."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def new_hire(transactional_db):
    from django.utils import timezone

    from enablement.services import programmes as services
    from salesops.org.services import person_create
    from tests.factories import ManagerFactory, RegionFactory, TeamFactory, UserFactory

    today = timezone.localdate()
    region = RegionFactory.create(name="East")
    manager = ManagerFactory.create(username="mgr_east", region=region, team=TeamFactory.create(region=region))
    ops = UserFactory.create(username="ops1", is_rep=False, is_sales_ops=True)
    programme = services.programme_create(actor=ops, name="Rep onboarding", for_role="rep", auto_assign=True)
    services.step_add(actor=ops, programme=programme, title="Set up your CRM profile", kind="task", due_days=2)
    services.step_add(actor=ops, programme=programme, title="Shadow three discovery calls", kind="task", due_days=14)
    services.step_add(actor=ops, programme=programme, title="Meet the whole team", kind="task", due_days=40)
    start = today - dt.timedelta(days=21)
    hire = person_create(
        actor=ops, password="pw-new-hire-1", username="new_hire", first_name="Maya", last_name="Lindqvist",
        email="maya@example.com", is_rep=True, manager=manager, region=region, team=manager.team, start_date=start,
    )  # fmt: skip
    return {"hire": hire, "start": start, "today": today}


def test_a_new_hire_sees_their_checklist_on_home_and_my_onboarding(page, new_hire) -> None:
    from salesops.formats import day

    start = new_hire["start"]
    sign_in(page, "new_hire", "pw-new-hire-1")
    panel = page.locator('[data-panel="rep-onboarding"]')
    panel.wait_for()
    text = panel.inner_text()
    assert "Rep onboarding" in text
    # Due = start date + the step's days: 2 and 14 days are past (overdue), 40 days is ahead.
    for title, days in (
        ("Set up your CRM profile", 2),
        ("Shadow three discovery calls", 14),
        ("Meet the whole team", 40),
    ):
        row = panel.locator("tr", has_text=title)
        assert day(start + dt.timedelta(days=days)) in row.inner_text()
    assert panel.locator("tr.onboarding-overdue").count() == 2
    assert "2 overdue" in text and "0 of 3" in text
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "onboarding-home.png"), full_page=True)

    page.click('[data-testid="home-my-onboarding"]')
    page.wait_for_url("**/enablement/onboarding/")  # a click does not wait for the page it opens
    assert page.url.endswith("/enablement/onboarding/")
    checklist = page.locator('[data-testid="checklist"]')
    assert day(start + dt.timedelta(days=2)) in checklist.inner_text()
    row = checklist.locator("tr", has_text="Set up your CRM profile")
    row.get_by_role("button", name="Mark done").click()
    checklist = page.locator('[data-testid="checklist"]')
    expect(checklist).to_contain_text("1 of 3 steps done")  # the form posts back to this page: wait for the new one
    assert "1 of 3 steps done" in checklist.inner_text() and "1 overdue" in checklist.inner_text()
    assert checklist.locator("tr", has_text="Set up your CRM profile").locator(".badge.ok").count() == 1
