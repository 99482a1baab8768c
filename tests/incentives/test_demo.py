"""The demo company's incentives (incentives/demo.py, loaded by seed_demo): plans with versions, quotas,
payouts for reps and managers, a locked last quarter, the rep's statement and an open dispute.

The company is loaded once for the module, inside a transaction rolled back at the end; each test runs in
a savepoint within it.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from incentives.demo import delete_incentives_data
from incentives.models import CommissionRun, CompPlan, Dispute, Payout, Period, Quota, StatementLine
from pipeline.demo import delete_pipeline_data
from salesops.kernel.fiscal import period_label, span_of
from salesops.org.models import Region, Team, User
from tests.demo_snapshot import DEMO_SEED, load_demo

SEED = DEMO_SEED


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield load_demo(SEED)
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


pytestmark = pytest.mark.django_db


def _quarters() -> tuple[str, str]:
    """(last completed quarter, current quarter) of a January fiscal year, as the demo loads them."""
    today = timezone.localdate()
    current = span_of(period_label(today, "quarter", 1), 1)
    previous = period_label(current.start - dt.timedelta(days=1), "quarter", 1)
    return previous, current.label


def test_the_success_line_names_the_incentives(demo):
    last, current = _quarters()
    assert "comp plans" in demo and "payouts with" in demo
    assert f"{last} locked, {current} open, 1 open dispute" in demo


def test_one_clean_recompute_with_payouts_for_reps_and_managers(demo):
    run = CommissionRun.objects.get()
    assert run.status == "done" and run.triggered_by == "demo"
    assert run.errors == [] and run.stats["errors"] == 0
    reps_paid = Payout.objects.filter(person__is_rep=True).values("person").distinct().count()
    assert reps_paid == User.objects.filter(is_rep=True).count() == 40
    managers_paid = Payout.objects.filter(person__is_manager=True).values("person").distinct().count()
    assert managers_paid == 7  # six managers and the director, on the team plan
    last, current = _quarters()
    for label in (last, current):
        assert Payout.objects.filter(period__label=label, person__username="manager").exists()
    assert Payout.objects.filter(payout__gt=0).count() > Payout.objects.count() * 0.6


def test_last_quarter_locked_by_finance_and_the_current_one_open(demo):
    last, current = _quarters()
    locked = Period.objects.get(label=last)
    assert locked.is_locked and locked.locked_by is not None and locked.locked_by.username == "finance"
    assert not Period.objects.get(label=current).is_locked
    assert list(Period.objects.filter(is_locked=True).values_list("label", flat=True)) == [last]
    # The last eight quarters and this one (next fiscal year's come from the planning demo's published scenario).
    assert Period.objects.filter(kind="quarter", start__lte=timezone.localdate()).count() == 9


def test_plans_versions_ramp_and_quotas(demo):
    ae = CompPlan.objects.get(key="ae")
    v1, v2 = ae.versions.order_by("version")
    this_year = span_of(f"{timezone.localdate().year}-Q1", 1).start
    assert v2.effective_from == this_year and v1.effective_from < this_year
    tiers = {v.version: v.definition["components"][0]["tiers"][-1]["rate"] for v in (v1, v2)}
    assert tiers == {1: "0.12", 2: "0.14"}
    assert {c["type"] for c in v2.definition["components"]} == {"tiered_rate", "attainment_bonus", "spiff"}
    assert v2.definition["clawback_days"] == 90
    manager_plan = CompPlan.objects.get(key="manager").versions.get()
    assert manager_plan.definition["credit_scope"] == "team"
    # Last year's payouts were computed on version 1, this year's on version 2.
    last, current = _quarters()
    rep = User.objects.get(username="rep")
    assert Payout.objects.get(person=rep, period__label=current).plan_version == v2
    earlier = Payout.objects.filter(person=rep, period__fiscal_year=this_year.year - 1).first()
    assert earlier is None or earlier.plan_version == v1
    # New hires carry the ramp; managers the sum of their team's quotas.
    # (Next fiscal year's quotas are the planning demo's published scenario: their ramps may have ended.)
    ramped = Quota.objects.filter(ramp__isnull=False, period__start__lte=timezone.localdate()).select_related("person")
    assert ramped.exists() and all(q.amount < q.full_amount and q.person.is_rep for q in ramped)
    manager = User.objects.get(username="manager")
    team_quota = Quota.objects.get(person=manager, period__label=last)
    assert team_quota.is_team_sum
    assert team_quota.amount == sum(q.amount for q in Quota.objects.filter(person__manager=manager, period__label=last))


def test_attainment_spreads_around_quota(demo):
    last, _ = _quarters()
    attainments = sorted(Payout.objects.filter(period__label=last, person__is_rep=True).values_list("attainment",
                                                                                                   flat=True))  # fmt: skip
    middle = attainments[len(attainments) // 4 : 3 * len(attainments) // 4]
    assert Decimal("0.2") <= middle[0] and middle[-1] <= Decimal("2.0")
    assert any(a >= 1 for a in attainments) and any(a < Decimal("0.5") for a in attainments)


def test_the_rep_sees_a_statement_whose_lines_add_up(demo):
    client = Client()
    assert client.login(username="rep", password="demo")
    rep = User.objects.get(username="rep")
    payouts = Payout.objects.filter(person=rep, payout__gt=0).order_by("-period__start")
    assert payouts.exists()
    for payout in payouts:
        for component, amount in payout.components.items():
            lines = StatementLine.objects.filter(payout=payout, component=component)
            assert sum((line.amount for line in lines), Decimal(0)) == Decimal(amount), (payout.period, component)
        assert payout.earned == sum(Decimal(a) for a in payout.components.values())
    latest = payouts.first()
    assert latest is not None
    response = client.get(reverse("incentives:statement", args=[latest.pk]))
    assert response.status_code == 200
    assert f'data-testid="statement-total">{latest.payout:,.2f}<' in response.content.decode()


def test_an_open_dispute_by_the_rep_on_a_line_of_this_quarter(demo):
    _, current = _quarters()
    dispute = Dispute.objects.select_related("payout__period", "raised_by", "line").get()
    assert dispute.status == "open" and dispute.raised_by.username == "rep"
    assert dispute.line is not None and dispute.line.deal_key == dispute.deal_key
    if StatementLine.objects.filter(payout__person__username="rep", payout__period__label=current,
                                    component="commission").exists():  # fmt: skip
        assert dispute.payout.period.label == current
    client = Client()
    client.login(username="rep", password="demo")
    html = client.get(reverse("incentives:statement", args=[dispute.payout_id])).content.decode()
    assert 'data-testid="dispute-status">Open<' in html


def test_same_seed_same_deals_and_payouts(demo):
    # The pipeline demo's determinism is checked here too: one second seeding for both (each takes seconds).
    from tests.pipeline.test_demo import _amounts

    deals_first = _amounts()

    def payouts() -> list[tuple[Any, ...]]:
        return list(
            Payout.objects.order_by("person__employee_id", "period__start").values_list(
                "person__employee_id", "period__label", "quota", "credited", "payout"
            )
        )

    first = payouts()
    delete_incentives_data()
    delete_pipeline_data()
    with connection.cursor() as cursor:
        # TRUNCATE rather than a cascading ORM delete: it does not depend on which other apps hang rows on people.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE {User._meta.db_table}, {Team._meta.db_table}, {Region._meta.db_table} CASCADE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    call_command("seed_demo", "--seed", str(SEED), stdout=io.StringIO())
    assert payouts() == first
    assert _amounts() == deals_first


def test_finance_booked_a_few_adjustments_in_this_open_quarter(demo):
    from incentives.models import Adjustment
    from salesops.org.models import AuditEvent

    _, current = _quarters()
    assert "3 adjustments" in demo
    adjustments = list(Adjustment.objects.select_related("period", "created_by", "person"))
    assert 2 <= len(adjustments) <= 4
    now = timezone.now()
    for adjustment in adjustments:
        assert adjustment.period.label == current and not adjustment.period.is_locked
        assert adjustment.created_by is not None and adjustment.created_by.username == "finance"
        assert adjustment.reason and adjustment.amount != 0 and adjustment.created_at <= now
        assert adjustment.person.username != "rep"  # the rep's own statement keeps to its dispute
        assert AuditEvent.objects.filter(entity="incentives.adjustment", entity_id=str(adjustment.pk)).exists()
    client = Client()
    assert client.login(username="finance", password="demo")
    home = client.get("/").content.decode()
    assert "No adjustment yet" not in home and 'data-testid="adjustments-list"' in home
    register = client.get(f"{reverse('incentives:register')}?period={current}").content.decode()
    assert adjustments[0].person.display_name in register
