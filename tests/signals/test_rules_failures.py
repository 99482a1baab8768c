"""A rule whose evaluation raises is kept to itself: the sweep and the deal-change evaluation go on with the other
rules, the failure is logged with the rule's id and name and shown on the rules pages and in the API, the task
still fails (or retries only the failed rule), and nothing that fired fires twice."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from signals.models import Notification, Rule, RuleFiring
from signals.services import rules as services
from signals.tasks_rules import rules_evaluate_changed, rules_run_due
from tests.factories import DealFactory

pytestmark = pytest.mark.django_db


def _kpi_rule(org: Any, name: str) -> Rule:
    return services.rule_create(
        actor=org.ops,
        name=name,
        trigger="kpi",
        kpi="open_pipeline",
        kpi_direction="below",
        kpi_threshold="50000",
        actions=[{"kind": "notify_role", "role": "sales_ops"}],
        is_live=True,
    )


def _told(org: Any, rule_name: str) -> int:
    return Notification.objects.filter(recipient=org.ops, title__startswith=f"{rule_name}:").count()


@pytest.fixture
def broken_kpi(monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    """The KPI of the rule named "Broken" cannot be read (a bug in its figure) while `state["broken"]` holds."""
    state = {"broken": True}
    real = services.kpi_value

    def kpi_value(rule: Rule, *, now: Any = None) -> Any:
        if rule.name == "Broken" and state["broken"]:
            raise ZeroDivisionError("division by zero")
        return real(rule, now=now)

    monkeypatch.setattr(services, "kpi_value", kpi_value)
    return state


def test_a_failing_rule_does_not_stop_the_sweep(org: Any, broken_kpi: dict[str, bool], caplog: Any) -> None:
    broken = _kpi_rule(org, "Broken")  # evaluated first (lowest id): it used to stop every rule after it
    working = _kpi_rule(org, "Pipeline under 50k")
    DealFactory.create(owner=org.rep_a, amount=40000)

    with caplog.at_level(logging.ERROR, logger="signals.services.rules"), pytest.raises(services.RulesFailed) as failed:
        services.rules_run_due()
    assert failed.value.failed == {broken.pk: "Broken"} and failed.value.fired == 1
    assert f"1 rule(s) failed: {broken.pk} “Broken”" in str(failed.value)
    # The rule after it was evaluated: it fired and sales ops were told, once.
    assert _told(org, "Pipeline under 50k") == 1
    assert RuleFiring.objects.filter(rule=working).count() == 1
    # The failure is logged with the rule's id and name, and kept on the rule; nothing of its evaluation stays.
    assert any(f"rule {broken.pk} “Broken”" in r.getMessage() and r.exc_info for r in caplog.records)
    broken.refresh_from_db()
    assert broken.failures == 1 and broken.last_error == "ZeroDivisionError: division by zero"
    assert broken.last_error_at is not None
    assert not RuleFiring.objects.filter(rule=broken).exists() and _told(org, "Broken") == 0

    # The next sweep is the retry: the broken rule fails again (counted), the other does not fire twice.
    with pytest.raises(services.RulesFailed):
        services.rules_run_due()
    broken.refresh_from_db()
    assert broken.failures == 2
    assert _told(org, "Pipeline under 50k") == 1

    # Mended: it fires once, is no longer failing, and its last error stays to be read.
    broken_kpi["broken"] = False
    assert services.rules_run_due() == 1
    broken.refresh_from_db()
    assert broken.failures == 0 and broken.last_error == "ZeroDivisionError: division by zero"
    assert _told(org, "Broken") == 1 and _told(org, "Pipeline under 50k") == 1


@pytest.mark.usefixtures("clean_cache")
def test_the_sweep_task_fails_when_a_rule_failed(org: Any, broken_kpi: dict[str, bool]) -> None:
    import salesops.tasks  # noqa: F401  (connects the failed-job counter, as a worker imports it)
    from salesops.health import job_failures

    _kpi_rule(org, "Broken")
    _kpi_rule(org, "Pipeline under 50k")
    DealFactory.create(owner=org.rep_a, amount=40000)
    result = rules_run_due.apply()  # as a worker runs it: the failure is the task's state, not raised here
    assert result.state == "FAILURE" and isinstance(result.result, services.RulesFailed)
    assert _told(org, "Pipeline under 50k") == 1
    # The failed sweep counts among the hub's failed jobs (/healthz/background).
    failed, tasks = job_failures()
    assert failed == 1 and tasks["signals.rules_run_due"]["error"] == "RulesFailed"
    # Mended, the next sweep succeeds and the sweep is no longer failing (its failure stays counted in the hour). A
    # rule whose saved conditions no longer hold is not evaluated: its rules page says so, the sweep does not fail.
    broken_kpi["broken"] = False
    stale = _kpi_rule(org, "Acme pipeline")
    Rule.objects.filter(pk=stale.pk).update(conditions="account=12.0")
    assert rules_run_due.apply().state == "SUCCESS"
    assert job_failures() == (1, {})


def _deal_change_rule(org: Any, name: str, conditions: str) -> Rule:
    return services.rule_create(
        actor=org.ops,
        name=name,
        trigger="deal_change",
        conditions=conditions,
        actions=[{"kind": "notify_owner"}],
        is_live=True,
    )


def test_a_deal_change_evaluation_retries_only_the_rule_that_failed(org: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    flaky = _deal_change_rule(org, "Flaky", "status=open&min_amount=1")
    steady = _deal_change_rule(org, "Open deals", "status=open")
    deal = DealFactory.create(owner=org.rep_a, amount=40000)
    real, calls = services.matching_deals, {"Flaky": 0, "Open deals": 0}

    def matching_deals(conditions: str) -> Any:
        name = "Flaky" if conditions == flaky.conditions else "Open deals"
        calls[name] += 1
        if name == "Flaky" and calls[name] == 1:  # its first try meets a database that refused the query
            raise RuntimeError("canceling statement due to statement timeout")
        return real(conditions)

    monkeypatch.setattr(services, "matching_deals", matching_deals)
    # Run here (apply): a retry asked for runs at once, with the arguments it was asked with.
    assert rules_evaluate_changed.apply(args=([deal.pk],)).get() == 1  # the retry fired the flaky rule
    assert calls == {"Flaky": 2, "Open deals": 1}  # the retry asked the failed rule only
    told = Notification.objects.filter(recipient=org.rep_a, kind="rule_fired")
    assert sorted(n.title.split(":")[0] for n in told) == ["Flaky", "Open deals"]  # each once
    flaky.refresh_from_db()
    steady.refresh_from_db()
    assert flaky.failures == 0 and "statement timeout" in flaky.last_error
    assert steady.failures == 0 and steady.last_error == ""


def test_a_rule_that_keeps_failing_fails_the_task_after_its_retries(org: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = _deal_change_rule(org, "Broken", "status=open&min_amount=1")
    _deal_change_rule(org, "Open deals", "status=open")
    deal = DealFactory.create(owner=org.rep_a, amount=40000)
    real = services.matching_deals

    def matching_deals(conditions: str) -> Any:
        if conditions == broken.conditions:
            raise RuntimeError("always")
        return real(conditions)

    monkeypatch.setattr(services, "matching_deals", matching_deals)
    result = rules_evaluate_changed.apply(args=([deal.pk],))
    assert result.state == "FAILURE" and isinstance(result.result, services.RulesFailed)
    assert result.result.failed == {broken.pk: "Broken"}
    broken.refresh_from_db()
    assert broken.failures == 4  # the first try and three retries
    assert Notification.objects.filter(recipient=org.rep_a, kind="rule_fired").count() == 1  # "Open deals", once


def test_sales_ops_see_the_failure_on_the_rules_pages_and_in_the_api(
    org: Any, broken_kpi: dict[str, bool], client_for: Any
) -> None:
    broken = _kpi_rule(org, "Broken")
    with pytest.raises(services.RulesFailed):
        services.rules_run_due()
    client = client_for(org.ops)
    listing = client.get("/signals/rules/").content.decode()
    assert 'data-testid="rule-failing"' in listing and "ZeroDivisionError: division by zero" in listing
    page = client.get(f"/signals/rules/{broken.pk}/").content.decode()
    assert "the last 1 evaluation failed" in page and "ZeroDivisionError: division by zero" in page
    answer = client.get(f"/api/v1/signals/rules/{broken.pk}/").json()
    assert answer["failures"] == 1 and answer["last_error"] == "ZeroDivisionError: division by zero"
    assert answer["last_error_at"] is not None
    # Read-only: a PATCH cannot clear it.
    client.patch(
        f"/api/v1/signals/rules/{broken.pk}/", {"failures": 0, "last_error": ""}, content_type="application/json"
    )
    broken.refresh_from_db()
    assert broken.failures == 1 and broken.last_error


def test_the_sweeps_recheck_of_open_episodes_does_not_clear_a_failing_mark(
    org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deal-change rule whose firing fails stays marked failing: the sweep's every-minute re-check of its open
    episodes fires nothing, so its success says nothing of the firing (the badge cleared within a minute while
    every change still failed)."""
    rule = _deal_change_rule(org, "Big deals", "status=open&min_amount=1")
    first = DealFactory.create(owner=org.rep_a, amount=40000)
    assert services.rules_evaluate_changed(deal_ids=[first.pk]) == 1  # an open episode for the first deal
    real = services._fire

    def fire(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("the owner's channel refused the message")

    monkeypatch.setattr(services, "_fire", fire)
    second = DealFactory.create(owner=org.rep_a, amount=50000)
    with pytest.raises(services.RulesFailed):
        services.rules_evaluate_changed(deal_ids=[second.pk])
    services.rules_run_due()  # re-checks the first deal's open episode: nothing fires, nothing fails
    rule.refresh_from_db()
    assert rule.failures == 1 and "refused the message" in rule.last_error
    monkeypatch.setattr(services, "_fire", real)
    assert services.rules_evaluate_changed(deal_ids=[second.pk]) == 1  # fixed: the next change clears it
    rule.refresh_from_db()
    assert rule.failures == 0


def test_a_rule_whose_conditions_no_longer_hold_says_so_on_its_pages_and_in_the_api(org: Any, client_for: Any) -> None:
    """Saved before the deal list refused `12.0` as an account id, or naming a stage since removed: the rule is not
    evaluated, which only the server's log said; sales ops saw it "on" and never told anyone."""
    stale = _kpi_rule(org, "Acme pipeline")
    Rule.objects.filter(pk=stale.pk).update(conditions="account=12.0")
    holding = _kpi_rule(org, "Pipeline under 50k")
    client = client_for(org.ops)
    listing = client.get("/signals/rules/").content.decode()
    assert listing.count('data-testid="rule-conditions-invalid"') == 1
    assert "Account: account: &#x27;12.0&#x27; is not an id" in listing
    page = client.get(f"/signals/rules/{stale.pk}/").content.decode()
    assert 'data-testid="rule-conditions-invalid"' in page and "it is not evaluated until they are corrected" in page
    assert 'data-testid="rule-conditions-invalid"' not in client.get(f"/signals/rules/{holding.pk}/").content.decode()
    assert client.get(f"/api/v1/signals/rules/{stale.pk}/").json()["condition_problems"] == [
        "Account: account: '12.0' is not an id (whole digits, e.g. ?account=12)."
    ]
    assert client.get(f"/api/v1/signals/rules/{holding.pk}/").json()["condition_problems"] == []
