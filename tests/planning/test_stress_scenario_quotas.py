"""A stress test on a scenario's quotas: ramped as publishing would write them (top-down amounts are full and
get each person's ramp; bottom-up ones already count it), and refused (at creation) or failed (at run time)
when the scenario has no quotas for the test's period. Hand-computed (docs/planning-stress.md, "Quotas")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from incentives import selectors as incentives_selectors
from incentives import services as pay
from planning.models import QuotaScenario, ScenarioQuota, StressTest
from planning.services import scenarios as scenario_services
from planning.services.stress import stress_test_create
from planning.tasks import run_stress_test
from salesops.api import DomainError
from tests.planning.test_stress import PLAN, Q, world  # noqa: F401  (the fixture: three reps on a plan in 2027-Q1)

pytestmark = pytest.mark.django_db


def _run(org, scenario: QuotaScenario, name: str = "Draft FY27") -> StressTest:
    test = stress_test_create(actor=org.ops, name=name, plan_definition=PLAN, period=Q, outcomes=50, seed=3,
                              scenario_id=scenario.pk)  # fmt: skip
    run_stress_test(test.pk)
    test.refresh_from_db()
    return test


def _ramp_rep_c(org) -> None:
    """rep_c starts on 10 Dec 2026 on the ramp [0.25, 0.5, 0.75] (their live quota carries it). Publishing counts
    tenure by calendar month from the start month: January is tenure month 2 (0.5), February 3 (0.75), March
    after the ramp (1); 2027-Q1's share = (0.5 + 0.75 + 1) / 3 = 0.75."""
    org.rep_c.start_date = dt.date(2026, 12, 10)
    org.rep_c.save(update_fields=["start_date"])
    ramp = pay.ramp_save(actor=org.ops, name="New AE", shares=["0.25", "0.5", "0.75"])
    pay.quota_set(actor=org.ops, person=org.rep_c, period=pay.period_get_or_create(Q), amount=30_000, ramp=ramp)


def _quota_of(test: StressTest, person_id: int) -> str:
    return {int(row["person"]): row["quota"] for row in test.result["by_person"]}[person_id]


def test_top_down_amounts_get_the_ramp_publishing_applies(world) -> None:  # noqa: F811
    _ramp_rep_c(world)
    scenario = QuotaScenario.objects.create(name="Stretch", fiscal_year=2027, method="top_down", created_by=world.ops)
    ScenarioQuota.objects.create(scenario=scenario, person=world.rep_c, period=Q, amount=Decimal("12000.00"))
    ScenarioQuota.objects.create(scenario=scenario, person=world.rep_a, period=Q, amount=Decimal("60000.00"))
    test = _run(world, scenario)
    assert test.status == StressTest.Status.DONE, test.error
    assert _quota_of(test, world.rep_c.pk) == "9000.00"  # 12,000 full × 0.75
    assert _quota_of(test, world.rep_a.pk) == "60000.00"  # no ramp: the full amount
    # Publishing the scenario writes exactly the quotas the test ran on.
    QuotaScenario.objects.filter(pk=scenario.pk).update(status=QuotaScenario.Status.APPROVED)
    scenario.refresh_from_db()
    scenario_services.scenario_publish(actor=world.ops, scenario=scenario)
    live = dict(incentives_selectors.bookings_quotas_of_period(Q))
    assert live[world.rep_c.pk] == Decimal("9000.00") and live[world.rep_a.pk] == Decimal("60000.00")


def test_bottom_up_amounts_already_count_the_ramp(world) -> None:  # noqa: F811
    _ramp_rep_c(world)
    scenario = QuotaScenario.objects.create(name="Capacity", fiscal_year=2027, method="bottom_up",
                                            created_by=world.ops)  # fmt: skip
    ScenarioQuota.objects.create(scenario=scenario, person=world.rep_c, period=Q, amount=Decimal("12000.00"))
    test = _run(world, scenario)
    assert test.status == StressTest.Status.DONE, test.error
    assert _quota_of(test, world.rep_c.pk) == "12000.00"


def test_a_scenario_without_the_period_is_refused_at_creation(world) -> None:  # noqa: F811
    next_year = QuotaScenario.objects.create(name="Next year", fiscal_year=2028, created_by=world.ops)
    ScenarioQuota.objects.create(scenario=next_year, person=world.rep_c, period="2028-Q1", amount=Decimal("1.00"))
    with pytest.raises(DomainError) as refused:
        stress_test_create(actor=world.ops, name="This quarter", plan_definition=PLAN, period=Q,
                           scenario_id=next_year.pk)  # fmt: skip
    assert str(refused.value) == (
        "Stress test This quarter: scenario 'Next year' (FY2028) has no quotas for 2027-Q1; pick a scenario of "
        "that period's fiscal year and quarters, or the live quotas."
    )
    assert not StressTest.objects.exists()


def test_a_scenario_that_lost_the_period_fails_the_run_with_that_message(world) -> None:  # noqa: F811
    scenario = QuotaScenario.objects.create(name="Stretch", fiscal_year=2027, created_by=world.ops)
    ScenarioQuota.objects.create(scenario=scenario, person=world.rep_c, period=Q, amount=Decimal("1000.00"))
    test = stress_test_create(actor=world.ops, name="Draft FY27", plan_definition=PLAN, period=Q, outcomes=10,
                              scenario_id=scenario.pk)  # fmt: skip
    ScenarioQuota.objects.filter(scenario=scenario).delete()  # recomputed meanwhile, say, without 2027-Q1
    run_stress_test(test.pk)
    test.refresh_from_db()
    assert test.status == StressTest.Status.FAILED and test.result == {}
    message = (
        "Stress test Draft FY27: scenario 'Stretch' (FY2027) has no quotas for 2027-Q1; pick a scenario of "
        "that period's fiscal year and quarters, or the live quotas."
    )
    assert test.error == message
    with pytest.raises(DomainError) as refused:  # the same words as a creation now
        stress_test_create(actor=world.ops, name="Draft FY27", plan_definition=PLAN, period=Q,
                           scenario_id=scenario.pk)  # fmt: skip
    assert str(refused.value) == message
