"""Who is told of what: each event the hub sends reaches exactly the people docs/signals-notifications.md names,
once, whatever the event's delivery does."""

from __future__ import annotations

from typing import Any

import pytest
from freezegun import freeze_time

from forecasting import services as forecasting_services
from incentives import services as incentives_services
from incentives.models import Period, StatementLine
from incentives.recompute import commission_recompute
from pipeline import events as pipeline_events
from pipeline import services as pipeline_services
from salesops.api import DomainError
from signals import listeners_notifications as listeners
from signals.models import Kind, Notification
from tests.factories import DealFactory, UserFactory, default_stages
from tests.incentives.conftest import build_example

pytestmark = pytest.mark.django_db


def told(kind: str) -> list[tuple[str, str]]:
    """(username, title) of every in-app notification of `kind`, by username."""
    rows = Notification.objects.filter(kind=kind, in_app=True).select_related("recipient")
    return sorted((n.recipient.username, n.title) for n in rows)


@pytest.fixture
def paid(django_capture_on_commit_callbacks) -> dict[str, Any]:
    with django_capture_on_commit_callbacks(execute=True):
        example = build_example()
        commission_recompute()
    example["finance"] = UserFactory.create(username="fin1", is_rep=False, is_finance=True)
    example["finance2"] = UserFactory.create(username="fin2", is_rep=False, is_finance=True)
    Notification.objects.all().delete()  # what building the example told (deal assignments by sales ops)
    return example


def raise_dispute(who: Any, label: str = "2025-Q1") -> Any:
    line = StatementLine.objects.filter(payout__person=who, payout__period__label=label).order_by("id").first()
    assert line is not None
    return incentives_services.dispute_raise(actor=who, line=line, text="My split should be 50 %")


def test_a_dispute_raised_tells_the_manager_and_finance(paid, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        raise_dispute(paid["bob"])
    people = [username for username, _ in told(Kind.DISPUTE_RAISED)]
    assert people == ["fin1", "fin2", "mia"]
    assert {title for _, title in told(Kind.DISPUTE_RAISED)} == {
        f"{paid['bob'].display_name} disputed a line of their 2025-Q1 statement"
    }
    to_mia = Notification.objects.get(recipient=paid["mia"])
    assert to_mia.url.startswith("/incentives/statements/")
    assert Notification.objects.get(recipient=paid["finance"]).url == "/incentives/disputes/"


def test_a_dispute_resolved_notifies_exactly_the_raiser_once(paid, django_capture_on_commit_callbacks):
    dispute = raise_dispute(paid["bob"])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        incentives_services.dispute_resolve(
            actor=paid["finance"], dispute=dispute, accept=True, resolution="Split corrected", amount="250"
        )
    # Delivered twice (a retried event, a second worker): still told once.
    for callback in callbacks:
        callback()
    resolved = Notification.objects.filter(kind=Kind.DISPUTE_RESOLVED)
    assert [(n.recipient_id, n.title, n.body) for n in resolved] == [
        (
            paid["bob"].pk,
            "Your dispute on the 2025-Q1 statement was accepted: 250.00 is paid in 2025-Q1",
            "Split corrected",
        )
    ]
    # The dispute's adjustment is told with the dispute, not a second time.
    assert not Notification.objects.filter(kind=Kind.ADJUSTMENT_BOOKED).exists()
    assert Notification.objects.filter(recipient=paid["bob"]).count() == 1


def test_a_rejected_dispute_says_so(paid, django_capture_on_commit_callbacks):
    dispute = raise_dispute(paid["ann"])
    with django_capture_on_commit_callbacks(execute=True):
        incentives_services.dispute_resolve(actor=paid["finance"], dispute=dispute, accept=False, resolution="As paid")
    assert told(Kind.DISPUTE_RESOLVED) == [("ann", "Your dispute on the 2025-Q1 statement was rejected")]


@freeze_time("2025-07-15 12:00:00")
def test_a_period_locked_tells_everyone_paid_in_it(paid, django_capture_on_commit_callbacks):
    q1 = Period.objects.get(label="2025-Q1")
    with django_capture_on_commit_callbacks(execute=True):
        incentives_services.period_lock(actor=paid["finance"], period=q1, reason="Payroll sent")
    assert [u for u, _ in told(Kind.PERIOD_LOCKED)] == ["ann", "bob", "mia"]
    assert told(Kind.PERIOD_LOCKED)[0][1] == "2025-Q1 is locked: your pay for it is final"


@freeze_time("2025-05-15 12:00:00")
def test_an_adjustment_booked_tells_the_person_adjusted(paid, django_capture_on_commit_callbacks):
    q2 = Period.objects.get(label="2025-Q2")
    with django_capture_on_commit_callbacks(execute=True):
        incentives_services.adjustment_create(
            actor=paid["finance"], person=paid["ann"], period=q2, amount="-120.5", reason="Overpaid in March"
        )
    assert told(Kind.ADJUSTMENT_BOOKED) == [("ann", "An adjustment of -120.50 was booked to your pay in 2025-Q2")]
    assert Notification.objects.get().body == "Overpaid in March"


@freeze_time("2026-11-10 12:00:00")
def test_a_forecast_adjustment_tells_the_report(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        forecasting_services.forecast_adjust(actor=org.manager_east, person=org.rep_a, period="2026-Q4",
                                             commit="100000", best_case="150000", note="Acme slips")  # fmt: skip
    [note] = Notification.objects.filter(kind=Kind.ADJUSTMENT_BOOKED)
    assert note.recipient == org.rep_a
    assert note.title == f"{org.manager_east.display_name} adjusted your 2026-Q4 forecast call"
    assert note.body.startswith("Commit 100,000.00, best case 150,000.00.")


def test_a_deal_assigned_by_someone_else_tells_the_new_owner(org, django_capture_on_commit_callbacks):
    deal = DealFactory.create(owner=org.rep_a, name="Acme renewal")
    with django_capture_on_commit_callbacks(execute=True):
        pipeline_services.deal_update(actor=org.manager_east, deal=deal, owner=org.rep_b)
    assert told(Kind.DEAL_ASSIGNED) == [("rep_b", f"{org.manager_east.display_name} assigned Acme renewal to you")]
    # Taking a deal oneself is no news.
    with django_capture_on_commit_callbacks(execute=True):
        pipeline_services.deal_update(actor=org.rep_a, deal=deal, owner=org.rep_a)
    assert Notification.objects.filter(kind=Kind.DEAL_ASSIGNED).count() == 1


def test_many_deals_assigned_at_once_are_one_notification(org, django_capture_on_commit_callbacks):
    deals = [DealFactory.create(owner=org.rep_a) for _ in range(5)]
    with django_capture_on_commit_callbacks(execute=True):
        for deal in deals:
            pipeline_services.deal_update(actor=org.manager_east, deal=deal, owner=org.rep_b)
    # Each update is its own event here: five notifications, one per deal …
    assert Notification.objects.filter(recipient=org.rep_b).count() == 5
    Notification.objects.all().delete()
    # … while one event for the five (a bulk reassignment) is one.
    listeners.on_deals_changed("pipeline", deal_ids=[d.pk for d in deals], fields=["owner"])
    assert told(Kind.DEAL_ASSIGNED) == [("rep_b", f"{org.manager_east.display_name} assigned 5 deals to you")]


def test_a_refused_stage_move_by_someone_else_tells_the_owner_once_a_day(org):
    deal = DealFactory.create(owner=org.rep_a, name="Acme", amount=None)
    target = default_stages()["Discovery"]  # needs an amount
    for _ in range(2):
        with pytest.raises(DomainError):
            pipeline_services.deal_move_stage(actor=org.manager_east, deal=deal, stage=target)
    [note] = Notification.objects.filter(kind=Kind.STAGE_MOVE_REFUSED)
    assert note.recipient == org.rep_a
    assert note.title == f"{org.manager_east.display_name} could not move Acme to Discovery"
    assert "amount" in note.body
    # The owner's own refused move is not told back to them.
    with pytest.raises(DomainError):
        pipeline_services.deal_move_stage(actor=org.rep_a, deal=deal, stage=target)
    assert Notification.objects.count() == 1


def test_an_import_finished_tells_who_started_it(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        pipeline_events.announce_import_finished(import_id=7, person_id=org.ops.pk, dry_run=True, ok=True,
                                                 file_name="deals.csv", error_count=0, change_count=1200,
                                                 created_count=35)  # fmt: skip
        pipeline_events.announce_import_finished(import_id=7, person_id=org.ops.pk, dry_run=False, ok=True,
                                                 file_name="deals.csv", error_count=0, change_count=1200,
                                                 created_count=35)  # fmt: skip
        pipeline_events.announce_import_finished(import_id=9, person_id=org.ops.pk, dry_run=True, ok=True,
                                                 file_name="new.csv", error_count=0, change_count=0,
                                                 created_count=1)  # fmt: skip
    assert sorted(told(Kind.IMPORT_FINISHED)) == [
        ("ops_admin", "The dry run of deals.csv is ready: 35 records to add, 1,200 to update, 0 errors"),
        ("ops_admin", "The dry run of new.csv is ready: 1 record to add, 0 to update, 0 errors"),
        ("ops_admin", "deals.csv is imported: 35 records added, 1,200 updated"),
    ]


def test_a_failing_listener_never_fails_the_change(org, django_capture_on_commit_callbacks, monkeypatch):
    def broken(**_: object) -> int:
        raise RuntimeError("database gone")

    monkeypatch.setattr(listeners, "notify", broken)
    with django_capture_on_commit_callbacks(execute=True):
        pipeline_events.announce_import_finished(import_id=8, person_id=org.ops.pk, dry_run=True, ok=True,
                                                 file_name="x.csv", error_count=0, change_count=0)  # fmt: skip
    assert not Notification.objects.exists()
