"""What a locked period paid stays as it is: plan changes reaching one are finance's, numbers too large to store
fail the run naming whose they are, bad input on the plan and lock pages is refused, not a server error, and the
earnings estimator pays a deal dated in a locked period where the recompute does (the next open period)."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from freezegun import freeze_time

from incentives import estimator, services
from incentives.models import Adjustment, CommissionRun, CompPlan, Dispute, Payout, StatementLine
from incentives.recompute import ResultOutOfRange, commission_recompute
from pipeline import services as deals
from pipeline.models import Deal
from salesops.api import DomainError
from tests.factories import UserFactory, default_stages
from tests.incentives.conftest import AE_PLAN

pytestmark = pytest.mark.django_db
AFTER_Q2 = "2025-07-10 12:00:00"


@pytest.fixture
def locked_q2(example: dict[str, Any]) -> dict[str, Any]:
    """The worked example computed, and 2025-Q2 locked by finance."""
    commission_recompute()
    example["finance"] = UserFactory.create(username="fin1", is_rep=False, is_finance=True)
    with freeze_time(AFTER_Q2):
        services.period_lock(actor=example["finance"], period=services.period_get_or_create("2025-Q2"),
                             reason="payroll sent")  # fmt: skip
    return example


def paid(label: str) -> dict[str, Decimal]:
    return {p.person.username: p.payout for p in Payout.objects.filter(period__label=label).select_related("person")}


def test_a_plan_version_rating_a_locked_period_again_is_refused_but_to_finance(locked_q2):
    """A version taking effect before a locked quarter governs it too (no later version): it would re-rate what
    the quarter paid, as one starting inside it would. One person's late assignment is booked as an adjustment."""
    ops, ae = locked_q2["ops"], CompPlan.objects.get(key="ae")
    q2 = paid("2025-Q2")
    doubled = json.loads(json.dumps(AE_PLAN))
    for tier in doubled["components"][0]["tiers"]:
        tier["rate"] = str(Decimal(str(tier["rate"])) * 2)
    with pytest.raises(DomainError) as error:
        services.plan_save_version(actor=ops, key="ae", name="AE", definition=doubled,
                                   effective_from=dt.date(2025, 3, 31))  # fmt: skip
    assert error.value.message == (
        "ae's version from 2025-03-31 would change what 2025-Q2 paid, and 2025-Q2 is locked: choose a date after "
        "2025-06-30, or ask finance to reopen 2025-Q2 first.")  # fmt: skip
    assert ae.versions.count() == 1
    # After the locked quarter it goes through, and the quarter pays what it paid.
    services.plan_save_version(actor=ops, key="ae", name="AE", definition=doubled, effective_from=dt.date(2025, 7, 1))
    commission_recompute()
    assert paid("2025-Q2") == q2
    # Finance may: the difference is then booked in the next open period.
    services.plan_save_version(actor=locked_q2["finance"], key="ae", name="AE", definition=doubled,
                               effective_from=dt.date(2025, 3, 30))  # fmt: skip
    assert ae.versions.count() == 3


def test_a_result_too_large_to_store_fails_the_run_naming_whose_it_is(example, api_client_for):
    """A quota of 50 cents gives an attainment the wider column holds; a plan paying more than the amount
    columns hold fails the run before anything is written, and the failed run says whose result it was."""
    ops, ann = example["ops"], example["ann"]
    services.quota_set(actor=ops, person=ann, period=services.period_get_or_create("2025-Q1"), amount="0.50")
    commission_recompute()
    payout = Payout.objects.get(person=ann, period__label="2025-Q1")
    assert payout.attainment > 100_000 and payout.attainment == (payout.credited / payout.quota).quantize(
        Decimal("1.0000")
    )
    api = api_client_for(ann).get(f"/api/v1/incentives/payouts/{payout.pk}/")
    assert api.status_code == 200 and Decimal(api.json()["attainment"]) == payout.attainment  # read back, not a 500

    before = {(p.person_id, p.period_id): p.payout for p in Payout.objects.all()}
    bonus = json.loads(json.dumps(AE_PLAN))
    bonus["components"].append({"key": "huge", "type": "attainment_bonus", "threshold": "0", "amount": "999999999999"})
    bonus["components"].append({"key": "huge2", "type": "attainment_bonus", "threshold": "0", "amount": "999999999999"})
    services.plan_save_version(actor=ops, key="ae", name="AE", definition=bonus, effective_from=dt.date(2025, 4, 1))
    with pytest.raises(ResultOutOfRange):
        commission_recompute()
    run = CommissionRun.objects.order_by("-pk").first()
    assert run is not None and run.status == "failed"
    reason = run.errors[-1]["error"]
    assert reason.startswith((f"{ann.display_name}, 2025-Q2: the ", f"{example['bob'].display_name}, 2025-Q2: the "))
    assert "is too large to store (amounts below 1,000,000,000,000): check this person's quota and plan" in reason
    assert {(p.person_id, p.period_id): p.payout for p in Payout.objects.all()} == before


def test_plan_numbers_beyond_what_a_plan_pays_are_refused_naming_the_field(example):
    plan = json.loads(json.dumps(AE_PLAN))
    plan["components"][0]["tiers"][0]["rate"] = "99999999999"
    with pytest.raises(DomainError, match=r"tier #1: rate '99999999999' is out of range \(at most 10, that is 1,000 %"):
        services.plan_validate(plan, key="ae")
    plan = json.loads(json.dumps(AE_PLAN))
    plan["draw"] = {"amount": "1000000000000", "recoverable": True}
    with pytest.raises(DomainError, match=r"draw: amount '1000000000000' is out of range \(below 1,000,000,000,000"):
        services.plan_validate(plan, key="ae")


def test_the_plan_import_page_refuses_a_key_that_is_not_a_slug(client_for, example):
    client = client_for(example["ops"])
    for key, name in (("Q1 AE plan", "AE"), ("x" * 41, "AE"), ("ae-long", "N" * 121)):
        upload = io.BytesIO(json.dumps({**AE_PLAN, "key": key, "name": name}).encode())
        upload.name = "plan.json"
        page = client.post(reverse("incentives:plan_import"), {"file": upload, "effective_from": "2026-01-01"})
        assert page.status_code == 200, key
        assert "1 to 40 letters, digits, hyphens or underscores" in page.content.decode() or (
            "a plan&#x27;s name is 1 to 120 characters" in page.content.decode()
        )
    assert set(CompPlan.objects.values_list("key", flat=True)) == {"ae", "mgr"}
    assert client.get(reverse("incentives:plan_list")).status_code == 200


def test_malformed_ids_and_names_are_refused_not_server_errors(client_for, api_client_for, example):
    ops = client_for(example["ops"])
    assert ops.post(reverse("incentives:plan_detail", args=["ae"]), {"end_assignment": "abc"}).status_code == 404
    response = api_client_for(example["ops"]).post("/api/v1/incentives/ramps/", {"name": "R" * 200,
                                                                                 "shares": ["0.5"]}, format="json")  # fmt: skip
    assert response.status_code == 400 and "1 to 80 characters" in str(response.json())
    deal = Deal.objects.filter(owner=example["ann"]).first()
    assert deal is not None
    assert client_for(example["ann"]).post(reverse("pipeline:deal_move", args=[deal.pk]),
                                           {"stage": "abc"}).status_code == 404  # fmt: skip


def test_a_quota_period_outside_the_date_rule_is_refused(example):
    with pytest.raises(DomainError, match="Unknown period '1800-Q1'"):
        services.period_get_or_create("1800-Q1")


def test_one_open_dispute_per_line_even_when_two_are_raised_at_once(example):
    commission_recompute()
    line = StatementLine.objects.filter(payout__person=example["ann"]).first()
    assert line is not None
    services.dispute_raise(actor=example["ann"], line=line, text="wrong split")
    # The check before the insert is passed by a dispute raised at the same moment: the database keeps one.
    with pytest.raises(IntegrityError), transaction.atomic():
        Dispute.objects.create(payout=line.payout, line=line, raised_by=example["ann"], text="again")
    assert Dispute.objects.filter(line=line, status="open").count() == 1


def test_a_lock_posted_with_altered_figures_locks_nothing(client_for, example):
    commission_recompute()
    finance = UserFactory.create(username="fin1", is_rep=False, is_finance=True)
    q1 = services.period_get_or_create("2025-Q1")
    with freeze_time(AFTER_Q2):
        page = client_for(finance).post(reverse("incentives:period_lock", args=[q1.pk]),
                                        {"reason": "payroll sent", "expected_payouts": "abc", "expected_lines": "1",
                                         "expected_total": "1"}, follow=True)  # fmt: skip
    assert "2025-Q1 was not locked: the figures this page showed did not come back intact" in page.content.decode()
    q1.refresh_from_db()
    assert not q1.is_locked


def test_the_estimator_pays_a_deal_dated_in_a_locked_period_as_the_recompute_does(
    locked_q2, client_for, api_client_for
):
    """A deal dated in locked 2025-Q2 leaves what Q2 paid as it is: its pay comes as an adjustment in the next
    open period (2025-Q3), and the estimator says so, as the recompute then books it."""
    ann = locked_q2["ann"]
    late = deals.deal_create(actor=ann, name="Late one", owner=ann, amount="50000", close_date=dt.date(2025, 6, 15))
    estimate = estimator.estimate(person=ann, deal_ids={late.pk})
    by_period = {p.period: p for p in estimate.periods}
    # Q2 is locked: it pays what it paid (0.00); 50,000 of 100,000 quota at 5 % = 2,500 comes in Q3.
    q2, q3 = by_period["2025-Q2"], by_period["2025-Q3"]
    assert (q2.current, q2.estimated, q2.locked, q2.paid_in) == (Decimal("0.00"), Decimal("0.00"), True, "2025-Q3")
    assert (q2.credited_now, q2.credited_then) == (Decimal("0.00"), Decimal("50000.00"))
    assert (q3.current, q3.estimated, q3.adjustment, q3.locked) == (
        Decimal("0.00"), Decimal("2500.00"), Decimal("2500.00"), False,
    )  # fmt: skip
    assert estimate.total_difference == Decimal("2500.00")
    html = client_for(ann).post(reverse("incentives:estimator"), {"deal": [late.pk]}).content.decode()
    assert "locked: its change is paid in 2025-Q3" in html and "incl. 2,500.00 adjustment" in html
    body = api_client_for(ann).post("/api/v1/incentives/estimator/", {"deals": [late.pk]}, format="json").json()
    assert [(p["period"], p["current"], p["estimated"], p["paid_in"], p["adjustment"]) for p in body["periods"]] == [
        ("2025-Q2", "0.00", "0.00", "2025-Q3", "0.00"), ("2025-Q3", "0.00", "2500.00", "", "2500.00"),
    ]  # fmt: skip

    # What the engine then pays, in those periods: Q2 unchanged, the difference booked in Q3.
    q2_paid = paid("2025-Q2")
    deals.deal_move_stage(actor=None, deal=late, stage=default_stages()["Closed Won"])
    commission_recompute()
    assert paid("2025-Q2") == q2_paid
    booked = Adjustment.objects.get(person=ann, cause__period="2025-Q2")
    assert (booked.period.label, booked.amount) == ("2025-Q3", Decimal("2500.00"))


def test_the_estimator_reaches_back_to_a_locked_period_of_an_earlier_fiscal_year(locked_q2):
    """A close date left in last year's locked quarter: the estimate reads that year's quota and pay as the
    recompute after the win does (its window reaches back to the deal's fiscal year), and pays the difference
    in the next open quarter."""
    ann, finance = locked_q2["ann"], locked_q2["finance"]
    with freeze_time(dt.date(2026, 1, 5)):
        for label in ("2025-Q1", "2025-Q3", "2025-Q4"):
            services.period_lock(actor=finance, period=services.period_get_or_create(label), reason="year end")
        services.period_get_or_create("2026-Q1")
        late = deals.deal_create(actor=ann, name="Left in June", owner=ann, amount="50000",
                                 close_date=dt.date(2025, 6, 15))  # fmt: skip
        estimate = estimator.estimate(person=ann, deal_ids={late.pk})
    by_period = {p.period: p for p in estimate.periods}
    assert not estimate.errors, estimate.errors
    q2 = by_period["2025-Q2"]
    assert (q2.credited_now, q2.credited_then, q2.locked, q2.paid_in) == (
        Decimal("0.00"), Decimal("50000.00"), True, "2026-Q1",
    )  # fmt: skip
    assert (by_period["2026-Q1"].adjustment, estimate.total_difference) == (Decimal("2500.00"), Decimal("2500.00"))


def test_the_estimator_shows_what_a_locked_period_stored_not_a_recomputed_pay(locked_q2, client_for, api_client_for):
    """Locked 2025-Q2 stored 0.00 for ann. A late 40,000 won deal dated in it was booked by the recompute as a
    2,000.00 adjustment in 2025-Q3, and a late 5,000 one waits for its recompute. The estimate of a 50,000
    open deal dated in Q2 shows Q2 at what it stored (0.00, not the 2,250.00 today's data computes), and in Q3
    what the recompute books after the win: 7,000.00 (95,000 credited: 50,000 at 5 % and 45,000 at 10 %) less
    0.00 stored less 2,000.00 booked = 5,000.00, of which 250.00 is the waiting late deal's, already in the pay
    now; the deal itself adds 4,750.00."""
    ann = locked_q2["ann"]
    stages = default_stages()

    def won_late(amount: str, day: int) -> None:
        Deal.objects.create(name=f"late {amount}", owner=ann, pipeline=stages["Closed Won"].pipeline,
                            stage=stages["Closed Won"], status="won", amount=Decimal(amount),
                            close_date=dt.date(2025, 6, day))  # fmt: skip

    won_late("40000", 10)
    commission_recompute()
    assert paid("2025-Q2")["ann"] == Decimal("0.00")
    assert [(a.period.label, a.amount) for a in Adjustment.objects.filter(person=ann)] == [
        ("2025-Q3", Decimal("2000.00"))
    ]
    won_late("5000", 11)  # its recompute has not run yet
    late = deals.deal_create(actor=ann, name="Late one", owner=ann, amount="50000", close_date=dt.date(2025, 6, 15))

    estimate = estimator.estimate(person=ann, deal_ids={late.pk})
    by_period = {p.period: p for p in estimate.periods}
    q2, q3 = by_period["2025-Q2"], by_period["2025-Q3"]
    assert (q2.current, q2.estimated, q2.locked, q2.paid_in) == (Decimal("0.00"), Decimal("0.00"), True, "2025-Q3")
    assert (q2.credited_now, q2.credited_then) == (Decimal("45000.00"), Decimal("95000.00"))
    assert (q3.current, q3.estimated, q3.adjustment) == (Decimal("250.00"), Decimal("5000.00"), Decimal("5000.00"))
    assert estimate.total_difference == Decimal("4750.00")
    body = api_client_for(ann).post("/api/v1/incentives/estimator/", {"deals": [late.pk]}, format="json").json()
    assert [(p["period"], p["current"], p["estimated"], p["adjustment"]) for p in body["periods"]] == [
        ("2025-Q2", "0.00", "0.00", "0.00"), ("2025-Q3", "250.00", "5000.00", "5000.00"),
    ]  # fmt: skip
    assert body["total_difference"] == "4750.00"
    html = client_for(ann).post(reverse("incentives:estimator"), {"deal": [late.pk]}).content.decode()
    assert 'data-testid="estimate-total">+4,750.00<' in html and "incl. 5,000.00 adjustment" in html

    # The recompute after the win books exactly what the estimate said, and Q2 still pays what it stored.
    deals.deal_move_stage(actor=None, deal=late, stage=stages["Closed Won"])
    commission_recompute()
    assert paid("2025-Q2")["ann"] == Decimal("0.00")
    assert [a.amount for a in Adjustment.objects.filter(person=ann).order_by("id")] == [
        Decimal("2000.00"), Decimal("5000.00"),
    ]  # fmt: skip
