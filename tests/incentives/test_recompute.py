"""The stored path: the spec's worked example through the database, locks, adjustments, idempotence."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from incentives import services
from incentives.models import Adjustment, CommissionRun, Payout, Period, StatementLine
from incentives.recompute import commission_recompute
from pipeline.models import Deal

pytestmark = pytest.mark.django_db


def payout(person, label) -> Payout:
    return Payout.objects.get(person=person, period__label=label)


def test_the_spec_example_through_the_database(example):
    stats = commission_recompute(triggered_by="test")
    assert stats["errors"] == 0
    expected = {
        ("ann", "2025-Q1"): ("150000.00", "1.5000", {"commission": "15000.00", "bonus": "5000.00", "spiff": "150.00"}, "20150.00"),
        ("ann", "2025-Q2"): ("0.00", "0.0000", {"commission": "0.00", "bonus": "0.00", "spiff": "0.00"}, "0.00"),
        ("bob", "2025-Q1"): ("60000.00", "0.6000", {"commission": "3500.00", "bonus": "0.00", "spiff": "100.00"}, "3600.00"),
        ("bob", "2025-Q2"): ("-20000.00", "-0.2000", {"commission": "-1000.00", "bonus": "0.00", "spiff": "0.00"}, "-1000.00"),
        ("mia", "2025-Q1"): ("210000.00", "1.0500", {"override": "4200.00"}, "4200.00"),
        ("mia", "2025-Q2"): ("0.00", "0.0000", {"override": "0.00"}, "0.00"),
    }  # fmt: skip
    for (who, label), (credited, attainment, components, paid) in expected.items():
        row = payout(example[who], label)
        assert (str(row.credited), str(row.attainment), row.components, str(row.payout)) == (
            credited, attainment, components, paid), (who, label)  # fmt: skip
    assert Payout.objects.count() == 6
    # Statement lines add up exactly to each component, and trace the deal and split.
    ann_q1 = payout(example["ann"], "2025-Q1")
    for component, amount in ann_q1.components.items():
        lines = StatementLine.objects.filter(payout=ann_q1, component=component)
        assert sum(line.amount for line in lines) == Decimal(amount)
    first = StatementLine.objects.filter(payout=ann_q1, component="commission").order_by("credit_date").first()
    assert first is not None and first.split_percent == Decimal("60.00") and first.credit == Decimal("60000.00")
    assert [b["rate"] for b in first.trace["bands"]] == ["0.05", "0.10"]


def test_recompute_twice_changes_nothing(example):
    commission_recompute()
    before = sorted(Payout.objects.values_list("person_id", "period__label", "payout", "earned"))
    lines_before = StatementLine.objects.count()
    commission_recompute()
    assert sorted(Payout.objects.values_list("person_id", "period__label", "payout", "earned")) == before
    assert StatementLine.objects.count() == lines_before
    assert CommissionRun.objects.filter(status="done").count() == 2


def test_a_change_to_a_locked_period_becomes_an_adjustment_in_the_next_open_one(example):
    commission_recompute()
    q1 = Period.objects.get(label="2025-Q1")
    services.period_lock(actor=example["ops"], period=q1, reason="closed")
    # A late correction: D2 was really 100,000, not 90,000. Q1 is locked, so Q2 carries the difference.
    d2 = Deal.objects.get(amount=Decimal("90000"))
    Deal.objects.filter(pk=d2.pk).update(amount=Decimal("100000"))
    commission_recompute()
    assert str(payout(example["ann"], "2025-Q1").payout) == "20150.00"  # locked: unchanged
    adjustment = Adjustment.objects.get(person=example["ann"])
    assert adjustment.period.label == "2025-Q2"
    assert adjustment.amount == Decimal("1500.00")  # 10,000 more at 15 %
    assert adjustment.cause["period"] == "2025-Q1"
    mia_adjustment = Adjustment.objects.get(person=example["mia"])
    assert mia_adjustment.amount == Decimal("200.00")  # 2 % of 10,000
    commission_recompute()
    assert Adjustment.objects.count() == 2  # nothing new the second time


def test_locked_rows_refuse_changes_in_postgres(example):
    commission_recompute()
    q1 = Period.objects.get(label="2025-Q1")
    services.period_lock(actor=example["ops"], period=q1, reason="closed")
    with pytest.raises(IntegrityError, match="locked"), transaction.atomic():
        Payout.objects.filter(period=q1).update(payout=Decimal("1"))
    with pytest.raises(IntegrityError, match="locked"), transaction.atomic():
        StatementLine.objects.filter(payout__period=q1).delete()
    from incentives.models import Adjustment

    with pytest.raises(IntegrityError, match="locked"), transaction.atomic():
        Adjustment.objects.create(person=example["ann"], period=q1, amount=Decimal("5"), reason="sneaked in")
    with pytest.raises(IntegrityError, match="locked"), transaction.atomic():
        StatementLine.objects.filter(payout__period=q1).update(amount=Decimal("0"))
    services.period_reopen(actor=example["ops"], period=q1, reason="late deal")
    Payout.objects.filter(period=q1, person=example["ann"]).update(payout=Decimal("1"))


def test_partial_recompute_touches_only_the_people_concerned_and_their_managers(example):
    commission_recompute()
    ann_before = payout(example["ann"], "2025-Q1").computed_at
    stats = commission_recompute(person_ids=[example["bob"].pk])
    assert stats["payouts"] == 4  # bob's and mia's two quarters
    assert payout(example["ann"], "2025-Q1").computed_at == ann_before


def test_ramp_is_pro_rata_by_month_of_tenure(example):
    import datetime as dt

    from incentives.models import RampSchedule
    from tests.factories import UserFactory

    ramp = RampSchedule.objects.create(name="new hire", shares=["0.25", "0.5", "0.75"])
    hire = UserFactory.create(username="newbie", start_date=dt.date(2025, 2, 10))
    q1 = services.period_get_or_create("2025-Q1")
    q2 = services.period_get_or_create("2025-Q2")
    first = services.quota_set(actor=example["ops"], person=hire, period=q1, amount="90000", ramp=ramp)
    second = services.quota_set(actor=example["ops"], person=hire, period=q2, amount="90000", ramp=ramp)
    assert first.amount == Decimal("22500.00")  # Jan 0, Feb 0.25, Mar 0.5 → a quarter of 90,000
    assert second.amount == Decimal("82500.00")  # Apr 0.75, then 100 %, 100 % → 2.75 / 3
    assert first.full_amount == Decimal("90000.00")


def test_many_changes_in_one_transaction_queue_one_recompute(example, monkeypatch):
    from django.db import transaction

    from incentives import tasks

    sent: list[tuple] = []
    monkeypatch.setattr(tasks.recompute_people, "apply_async", lambda args, **kw: sent.append(args))
    period = services.period_get_or_create("2025-Q3")
    tasks._flush()  # what the example's own setup left pending
    sent.clear()
    with transaction.atomic():
        for person in (example["ann"], example["bob"], example["mia"]):
            services.quota_set(actor=example["ops"], person=person, period=period, amount="1000")
        tasks._flush()  # what on_commit runs (the test's own transaction never commits)
    assert len(sent) == 1
    assert sent[0][0] == sorted(p.pk for p in (example["ann"], example["bob"], example["mia"]))


def _line_ids(person, label) -> list[int]:
    return list(
        StatementLine.objects.filter(payout__person=person, payout__period__label=label).values_list("id", flat=True)
    )


def test_an_unchanged_statement_is_not_written_again(example):
    first = commission_recompute()
    assert first["lines_written"] == first["lines"] > 0 and first["statements_written"] == 6
    ids = {
        (who, label): _line_ids(example[who], label)
        for who in ("ann", "bob", "mia")
        for label in ("2025-Q1", "2025-Q2")
    }
    again = commission_recompute()
    assert (again["lines"], again["lines_written"], again["statements_written"]) == (first["lines"], 0, 0)
    assert {key: _line_ids(example[key[0]], key[1]) for key in ids} == ids
    # D2 (ann's, Q1) grows by 10,000: ann's and mia's Q1 statements are written again, nothing else.
    Deal.objects.filter(amount=Decimal("90000")).update(amount=Decimal("100000"))
    changed = commission_recompute()
    assert changed["statements_written"] == 2
    assert changed["lines_written"] == len(_line_ids(example["ann"], "2025-Q1")) + len(
        _line_ids(example["mia"], "2025-Q1")
    )
    for key, before in ids.items():
        after = _line_ids(example[key[0]], key[1])
        if key in {("ann", "2025-Q1"), ("mia", "2025-Q1")}:
            assert len(after) == len(before) and not set(after) & set(before), key  # replaced whole
        else:
            assert after == before, key
    ann_q1 = payout(example["ann"], "2025-Q1")
    assert str(ann_q1.payout) == "21650.00"
    assert sum(line.amount for line in ann_q1.lines.all()) == ann_q1.earned


def test_a_dispute_follows_its_line_when_the_statement_is_written_again(example):
    from incentives.models import Dispute

    commission_recompute()
    ann_q1 = payout(example["ann"], "2025-Q1")
    d2 = Deal.objects.get(amount=Decimal("90000"))
    line = StatementLine.objects.get(payout=ann_q1, deal_id=d2.pk, component="commission")
    dispute = Dispute.objects.create(payout=ann_q1, line=line, deal_key=line.deal_key, raised_by=example["ann"],
                                     text="D2 was 100,000")  # fmt: skip
    Deal.objects.filter(pk=d2.pk).update(amount=Decimal("100000"))
    commission_recompute()
    dispute.refresh_from_db()
    assert dispute.line_id is not None and dispute.line_id != line.pk
    assert not StatementLine.objects.filter(pk=line.pk).exists()
    new_line = StatementLine.objects.get(pk=dispute.line_id)
    assert (new_line.deal_id, new_line.component, new_line.credit) == (
        d2.pk,
        "commission",
        Decimal("100000.00"),
    )


def test_statement_line_references_hold_in_postgres(example):
    from django.db import connection

    from incentives.models import Dispute

    commission_recompute()
    ann_q1 = payout(example["ann"], "2025-Q1")
    line = ann_q1.lines.first()
    assert line is not None
    # A line must belong to an existing payout.
    with pytest.raises(IntegrityError, match="do not exist"), transaction.atomic():
        StatementLine.objects.create(payout_id=ann_q1.pk + 10_000, component="commission", credit=1, amount=1)
    # A dispute must point at an existing line.
    dispute = Dispute.objects.create(payout=ann_q1, line=line, deal_key=line.deal_key, raised_by=example["ann"],
                                     text="?")  # fmt: skip
    with pytest.raises(IntegrityError, match="does not exist"), transaction.atomic():
        Dispute.objects.filter(pk=dispute.pk).update(line_id=line.pk + 10_000)
    # Deleting lines lets go of their disputes (SET NULL); deleting a payout takes its lines (CASCADE).
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM incentives_statementline WHERE id = %s", [line.pk])
    dispute.refresh_from_db()
    assert dispute.line_id is None
    bob_q2 = payout(example["bob"], "2025-Q2")
    assert bob_q2.lines.exists()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM incentives_payout WHERE id = %s", [bob_q2.pk])
    assert not StatementLine.objects.filter(payout_id=bob_q2.lines_key).exists()


def _stored(example) -> tuple[list, list]:
    payouts = sorted(
        Payout.objects.values_list("person__username", "period__label", "credited", "components", "payout")
    )
    lines = sorted(
        StatementLine.objects.values_list("payout__person__username", "payout__period__label", "component", "deal_key",
                                          "credited_person_id", "credit", "amount", "trace")
    )  # fmt: skip
    return payouts, lines


def test_a_fanned_out_recompute_stores_what_one_process_stores(example):
    one = commission_recompute()
    assert one["processes"] == 1  # a handful of deals: no fan-out
    expected = _stored(example)
    Payout.objects.all().delete()
    two = commission_recompute(shards=2)  # two shards, staged, then swapped in
    assert two["processes"] == 2
    assert (two["lines"], two["lines_written"], two["payouts"]) == (one["lines"], one["lines"], one["payouts"])
    assert _stored(example) == expected
    assert commission_recompute()["lines_written"] == 0  # and the digests agree with a fanned-out run's


def test_a_failing_worker_fails_the_run(example, monkeypatch):
    from incentives import recompute
    from incentives.models import RecomputeStage

    commission_recompute()
    expected = _stored(example)
    real = recompute._compute
    calls = []

    def second_shard_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise ZeroDivisionError("shard 1 broke")
        return real(*args, **kwargs)

    monkeypatch.setattr(recompute, "_compute", second_shard_fails)
    with pytest.raises(ZeroDivisionError, match="shard 1 broke"):
        commission_recompute(shards=3)
    run = CommissionRun.objects.latest("id")
    assert run.status == CommissionRun.Status.FAILED
    assert "ZeroDivisionError" in run.errors[-1]["error"]
    assert not RecomputeStage.objects.exists()  # the first shard's staged results are gone with the run
    assert _stored(example) == expected
