"""notify(): who gets what, preferences, dedupe, and reading state."""

from __future__ import annotations

import pytest
from django.db import transaction

from salesops.api import DomainError
from signals.models import Kind, Notification
from signals.services import notifications as svc

pytestmark = pytest.mark.django_db


def test_notify_creates_one_in_app_notification_per_recipient(org):
    made = svc.notify(
        recipient_ids=[org.rep_a.pk, org.rep_b.pk, org.rep_a.pk],
        kind=Kind.DISPUTE_RESOLVED,
        title="Your dispute was accepted",
        url="/incentives/",
    )
    assert made == 2
    rows = Notification.objects.order_by("recipient_id")
    assert [n.recipient_id for n in rows] == sorted([org.rep_a.pk, org.rep_b.pk])
    assert all(n.in_app and n.read_at is None and n.title == "Your dispute was accepted" for n in rows)


def test_same_dedupe_key_never_notifies_twice(org):
    first = svc.notify(recipient_ids=[org.rep_a.pk], kind=Kind.PERIOD_LOCKED, title="Locked", dedupe_key="lock:1")
    again = svc.notify(
        recipient_ids=[org.rep_a.pk, org.rep_b.pk], kind=Kind.PERIOD_LOCKED, title="Locked", dedupe_key="lock:1"
    )
    assert (first, again) == (1, 1)
    assert Notification.objects.filter(recipient=org.rep_a).count() == 1
    assert Notification.objects.filter(recipient=org.rep_b).count() == 1


def test_preferences_off_means_nothing(org):
    for channel in ("in_app", "email"):
        svc.preference_set(person=org.rep_a, kind=Kind.DISPUTE_RESOLVED, channel=channel, on=False)
    assert svc.notify(recipient_ids=[org.rep_a.pk], kind=Kind.DISPUTE_RESOLVED, title="Accepted") == 0
    assert not Notification.objects.exists()


def test_in_app_off_but_email_on_keeps_a_hidden_row_for_dedupe(org):
    svc.preference_set(person=org.rep_a, kind=Kind.DISPUTE_RESOLVED, channel="in_app", on=False)
    assert svc.notify(recipient_ids=[org.rep_a.pk], kind=Kind.DISPUTE_RESOLVED, title="x", dedupe_key="d") == 0
    assert Notification.objects.get().in_app is False


def test_inactive_people_and_unknown_kinds(org):
    org.rep_c.is_active = False
    org.rep_c.save()
    assert svc.notify(recipient_ids=[org.rep_c.pk], kind=Kind.DEAL_ASSIGNED, title="x") == 0
    with pytest.raises(DomainError):
        svc.notify(recipient_ids=[org.rep_a.pk], kind="no_such_kind", title="x")


def test_notify_inside_a_rolled_back_transaction_leaves_nothing(org):
    class Undo(Exception):
        pass

    try:
        with transaction.atomic():
            svc.notify(recipient_ids=[org.rep_a.pk], kind=Kind.DEAL_ASSIGNED, title="x")
            raise Undo
    except Undo:
        pass
    assert not Notification.objects.exists()


# ------------------------------------------------------------------------------------ forecast call reminders
def test_forecast_call_due_then_missing_once_a_week(org):
    import datetime as dt

    from freezegun import freeze_time

    from forecasting import services as forecasting_services

    thursday, friday = dt.date(2026, 11, 12), dt.date(2026, 11, 13)  # 2026-Q4 open
    with freeze_time("2026-11-10 10:00:00"):  # Tuesday: rep_a calls
        forecasting_services.forecast_submit(actor=org.rep_a, period="2026-Q4", commit="1000", best_case="2000")
        assert svc.forecast_call_reminders(today=dt.date(2026, 11, 10)) == {"due": 0, "missing": 0, "managers": 0}
    with freeze_time("2026-11-12 09:00:00"):
        due = svc.forecast_call_reminders(today=thursday)
        again = svc.forecast_call_reminders(today=thursday)
    callers = {org.director.pk, org.manager_east.pk, org.manager_west.pk, org.rep_b.pk, org.rep_c.pk}
    assert due["due"] == len(callers) and again["due"] == 0
    assert (
        set(Notification.objects.filter(kind=Kind.FORECAST_CALL_DUE).values_list("recipient_id", flat=True)) == callers
    )
    assert {n.title for n in Notification.objects.filter(kind=Kind.FORECAST_CALL_DUE)} == {
        "Your 2026-Q4 forecast call is due today"
    }
    with freeze_time("2026-11-13 09:00:00"):  # Friday: rep_b called late, the others still have not
        forecasting_services.forecast_submit(actor=org.rep_b, period="2026-Q4", commit="500", best_case="900")
        missing = svc.forecast_call_reminders(today=friday)
        svc.forecast_call_reminders(today=friday + dt.timedelta(days=1))  # Saturday's run: nothing new
    late = callers - {org.rep_b.pk}
    assert missing["missing"] == len(late)
    to_people = Notification.objects.filter(
        kind=Kind.FORECAST_CALL_MISSING, dedupe_key__startswith="forecast_call_missing:"
    )
    assert set(to_people.values_list("recipient_id", flat=True)) == late
    # Managers hear of their reports: manager_west of rep_c; the director of both managers.
    team = {
        n.recipient_id: n.title
        for n in Notification.objects.filter(dedupe_key__startswith="forecast_call_missing_team")
    }
    assert team == {
        org.manager_west.pk: "1 of your reports has not submitted their 2026-Q4 call",
        org.director.pk: "2 of your reports have not submitted their 2026-Q4 call",
    }


def test_other_channels_are_queued_after_commit_per_preferences(org, django_capture_on_commit_callbacks):
    from signals.models import Delivery

    org.rep_a.email, org.rep_b.email = "a@example.com", "b@example.com"
    org.rep_a.save()
    org.rep_b.save()
    svc.preference_set(person=org.rep_b, kind=Kind.DISPUTE_RESOLVED, channel="email", on=False)
    with django_capture_on_commit_callbacks(execute=True):
        svc.notify(recipient_ids=[org.rep_a.pk, org.rep_b.pk], kind=Kind.DISPUTE_RESOLVED, title="Accepted")
        svc.notify(recipient_ids=[org.rep_a.pk], kind=Kind.DEAL_ASSIGNED, title="Yours now")  # e-mail off by default
        assert not Delivery.objects.exists()  # nothing before the commit
    assert list(Delivery.objects.values_list("to_email", flat=True)) == ["a@example.com"]


@pytest.mark.django_db(transaction=True)
def test_two_senders_of_one_key_at_once_send_one_email(monkeypatch):
    """An event delivered twice at once (the web process and the outbox relay's worker), or a job run by two workers:
    both found nobody told under the key, the unique constraint kept one notification, but both queued the e-mail
    (and Slack, Teams). The senders of one key now take turns, and the second leaves out whom the first told."""
    import threading

    from django.db import connection

    from signals.models import Delivery
    from tests.factories import UserFactory

    person = UserFactory.create(username="rep_x", email="rep_x@example.com")
    both_looked = threading.Barrier(2, timeout=10)
    real = svc.channels_for

    def after_both_looked(ids, kind):
        both_looked.wait()  # each sender has found nobody told under the key yet
        return real(ids, kind)

    monkeypatch.setattr(svc, "channels_for", after_both_looked)
    made: list[int] = []

    def send() -> None:
        try:
            made.append(svc.notify(recipient_ids=[person.pk], kind=Kind.PERIOD_LOCKED, title="Locked", dedupe_key="k"))
        finally:
            connection.close()

    senders = [threading.Thread(target=send) for _ in range(2)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(20)
    assert sorted(made) == [0, 1]
    assert Notification.objects.filter(recipient=person).count() == 1
    assert Delivery.objects.filter(person=person).count() == 1  # one e-mail (2 before)
