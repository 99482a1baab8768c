"""Rules in a real browser: sales ops open the rules, write "14 days in Proposal with no activity" in the form (the
preview counts the deals matching now, through HTMX), save it, run the dry run on its page and switch it on; a
filter the deal list does not know is a clear form error.

The data is built with the factories (never the demo); dates derive from today."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def ops(transactional_db):
    from django.utils import timezone

    from tests.factories import DealFactory, UserFactory, default_stages

    person = UserFactory.create(username="ops_admin", is_rep=False, is_sales_ops=True, title="Sales Ops")
    rep = UserFactory.create(username="rep_a")
    long_ago = timezone.now() - dt.timedelta(days=30)
    proposal = default_stages()["Proposal"]
    DealFactory.create(owner=rep, name="Quiet proposal", stage=proposal, created_at=long_ago, stage_entered_at=long_ago)
    DealFactory.create(owner=rep, name="Fresh proposal", stage=proposal)
    return person, proposal


def test_sales_ops_create_a_rule_from_the_form(page, ops) -> None:
    from signals.models import Rule

    _, proposal = ops
    sign_in(page, "ops_admin", "pw")
    page.goto("/signals/rules/")
    page.click("[data-testid=new-rule]")
    page.fill("input[name=name]", "14 days in Proposal with no activity")
    page.select_option("select[name=trigger]", "schedule")
    page.fill("input[name=every_minutes]", "60")
    page.fill("[data-testid=conditions]", f"stage={proposal.pk}&min_days_in_stage=14&min_days_idle=14")
    page.wait_for_selector("[data-testid=rule-preview] >> text=1 deal matches")
    page.select_option("select[name=action_kind_0]", "notify_owner")
    page.select_option("select[name=action_kind_1]", "notify_manager")
    page.click("[data-testid=save-rule]")
    page.wait_for_selector("[data-testid=rule-summary]")
    summary = page.inner_text("[data-testid=rule-summary]")
    assert "Every 60 minutes" in summary or "every 60 minutes" in summary
    assert "Notify the deal's owner" in summary and "Notify the owner's manager" in summary

    page.click("[data-testid=run-dry-run]")
    page.wait_for_selector("[data-testid=dry-run-starts]")
    page.click("[data-testid=rule-switch]")
    page.wait_for_selector('[data-testid=rule-summary] >> text="on"')  # Live: on (text=on matched "Conditions")
    rule = Rule.objects.get(name="14 days in Proposal with no activity")
    assert rule.is_live and rule.actions == [{"kind": "notify_owner"}, {"kind": "notify_manager"}]

    # A filter the deal list does not know: the form says so and keeps what was typed.
    page.goto("/signals/rules/new/")
    page.fill("input[name=name]", "Broken")
    page.fill("[data-testid=conditions]", "colour=red")
    page.wait_for_selector("[data-testid=rule-preview] >> text=is not a filter of the deal list")
    page.select_option("select[name=action_kind_0]", "notify_owner")
    page.click("[data-testid=save-rule]")
    page.wait_for_selector("[data-testid=form-error]")
    assert "“colour” is not a filter of the deal list." in page.inner_text("[data-testid=form-error]")
    assert page.input_value("input[name=name]") == "Broken"
    assert not Rule.objects.filter(name="Broken").exists()
