"""1:1s in a real browser: the manager opens a report's 1:1s, schedules one, sees the agenda, writes a note and
adds an action item (both through HTMX); the next 1:1 shows the item carried over; the report sees the note; a
teammate cannot open it.

The data is built with the factories (never the demo); dates derive from today."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e

NOTE = "Agreed to focus on the two renewals closing this quarter."
ACTION = "Send the pricing proposal to the CFO"


@pytest.fixture
def pair(transactional_db):
    from tests.factories import ManagerFactory, RegionFactory, TeamFactory, UserFactory

    region = RegionFactory.create(name="East")
    manager = ManagerFactory.create(username="mgr_east", region=region, team=TeamFactory.create(region=region))
    report = UserFactory.create(username="rep_a", manager=manager, region=region, team=manager.team)
    teammate = UserFactory.create(username="rep_b", manager=manager, region=region, team=manager.team)
    return manager, report, teammate


def test_a_1_1_from_agenda_to_carried_action(page, pair) -> None:
    from enablement.models import ActionItem, OneOnOne

    manager, report, _ = pair
    today = dt.date.today()
    sign_in(page, "mgr_east", "pw")
    page.goto("/enablement/one-on-ones/")
    page.click("[data-testid=pair-rep_a]")
    page.fill("input[name=held_on]", today.isoformat())
    page.click("[data-testid=schedule]")
    page.wait_for_selector("[data-testid=agenda]")
    agenda = page.inner_text("[data-testid=agenda]")
    assert "Pace to quota" in agenda and "Deals at risk" in agenda and "live" in agenda

    page.fill("[data-testid=notes-text]", NOTE)
    page.click("[data-testid=save-notes]")
    page.wait_for_selector("[data-testid=notes-saved]")
    page.fill("[data-testid=action-text]", ACTION)
    page.click("[data-testid=add-action]")
    page.wait_for_selector(f"[data-testid=agreed] >> text={ACTION}")
    first = OneOnOne.objects.get(manager=manager, report=report, held_on=today)
    assert first.notes == NOTE
    assert ActionItem.objects.get(one_on_one=first).text == ACTION

    # The next 1:1, a week later: the open item is carried over.
    page.goto(f"/enablement/one-on-ones/{report.pk}/")
    page.fill("input[name=held_on]", (today + dt.timedelta(days=7)).isoformat())
    page.click("[data-testid=schedule]")
    page.wait_for_selector("[data-testid=carried]")
    assert ACTION in page.inner_text("[data-testid=carried]")
    agenda = page.inner_text("[data-testid=agenda-actions]")
    assert "1 open action item" in agenda

    # The report sees the note of their 1:1.
    page.context.clear_cookies()
    sign_in(page, "rep_a", "pw")
    page.goto("/enablement/one-on-ones/")
    page.click(f"[data-testid=my-one-on-ones] a[href='/enablement/one-on-ones/meetings/{first.pk}/']")
    page.wait_for_selector("[data-testid=notes-text]")
    assert page.input_value("[data-testid=notes-text]") == NOTE

    # A teammate gets the answer of a missing page.
    page.context.clear_cookies()
    sign_in(page, "rep_b", "pw")
    answer = page.goto(f"/enablement/one-on-ones/meetings/{first.pk}/")
    assert answer is not None and answer.status == 404
    assert NOTE not in page.content()
