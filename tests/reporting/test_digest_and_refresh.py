"""The weekly digest (locmem backend) and keeping the facts fresh: after a change through the services,
through the listener, and incrementally by the sweep."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import override_settings
from freezegun import freeze_time

from pipeline import services as pipeline_services
from reporting import services
from reporting.models import DealFact, PersonMonth
from reporting.queries import Slice, kpi_aggregates
from reporting.refresh import refresh_changed

Q1 = (dt.date(2026, 1, 1), dt.date(2026, 3, 31))


def test_weekly_digest_reaches_each_manager_once(book):
    o = book.org
    result = services.digest_send_weekly(today=dt.date(2026, 3, 9))  # last week: 2–8 March
    assert result["sent"] == 3  # director, manager_east, manager_west
    east = next(m for m in mail.outbox if m.to == [o.manager_east.email])
    # A2 closed on 5 March, split half and half between rep_a (East) and rep_c (West): each team books its credit.
    assert east.subject == "Your team's week 2 Mar–8 Mar: 15,000 booked, 1 won"
    text = east.body
    assert "Bookings: 15,000" in text and "Quarter 2026-Q1 so far" in text and "Bookings so far: 45,000" in text
    assert isinstance(east, EmailMultiAlternatives)
    html = str(east.alternatives[0][0])
    assert "Open your dashboard" in html and "/reporting/manager/?period=2026-Q1" in html
    west = next(m for m in mail.outbox if m.to == [o.manager_west.email])
    assert west.subject.endswith("15,000 booked, 0 won")  # rep_c's half of A2; the deal is rep_a's
    assert services.digest_send_weekly(today=dt.date(2026, 3, 10)) == {"sent": 0, "skipped": 3, "failed": 0}
    assert len(mail.outbox) == 3


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_digest_uses_the_configured_backend(book, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    assert services.digest_send_weekly(today=dt.date(2026, 3, 9))["sent"] == 3
    assert mail.outbox == []


def test_a_digest_the_mail_server_refuses_leaves_the_others_sent_and_is_retried_for_the_same_week(book, monkeypatch):
    """One refused send (the mail server gone at 07:00) used to stop the run: the managers after it got nothing, and
    nothing tried again until the next Monday, a week later. Now the others go, and the task retries that week."""
    from smtplib import SMTPServerDisconnected

    from reporting import tasks

    o = book.org
    real_send = EmailMultiAlternatives.send

    def refuse_the_director(message, *args, **kwargs):
        if message.to == [o.director.email]:
            raise SMTPServerDisconnected("Connection unexpectedly closed")
        return real_send(message, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse_the_director)
    assert o.director.pk < o.manager_east.pk  # the director comes first: the others follow the refused one
    result = services.digest_send_weekly(today=dt.date(2026, 3, 9))
    assert result == {"sent": 2, "skipped": 0, "failed": 1}
    assert sorted(m.to[0] for m in mail.outbox) == sorted([o.manager_east.email, o.manager_west.email])

    # The task asks for a retry of the same week, expiring well after its countdown (beat's expiry would drop it).
    retried: dict[str, object] = {}

    def retry(**options):
        retried.update(options)
        return RuntimeError("retry")

    monkeypatch.setattr(tasks.send_weekly_digest, "retry", retry)
    with freeze_time("2026-03-09 07:00"), pytest.raises(RuntimeError, match="retry"):
        tasks.send_weekly_digest.run()
    assert retried["kwargs"] == {"today": "2026-03-09"}
    countdown, expires = retried["countdown"], retried["expires"]
    assert isinstance(countdown, int) and isinstance(expires, float) and 0 < countdown <= 1800 < expires - countdown

    # The retry, after midnight and with the mail server back, sends that week's missing digest only.
    monkeypatch.setattr(EmailMultiAlternatives, "send", real_send)
    with freeze_time("2026-03-10 00:30"):
        assert tasks.send_weekly_digest.run(today="2026-03-09") == {"sent": 1, "skipped": 2, "failed": 0}
    assert [m.to[0] for m in mail.outbox].count(o.director.email) == 1
    assert "2 Mar–8 Mar" in next(m for m in mail.outbox if m.to == [o.director.email]).subject


def test_a_digest_run_out_of_time_is_retried_for_the_same_week(book, monkeypatch):
    """The soft time limit part way (a slow mail server): the managers not reached yet are sent by the retry."""
    from celery.exceptions import SoftTimeLimitExceeded

    from reporting import tasks

    o = book.org
    real_send = EmailMultiAlternatives.send

    def out_of_time_at_east(message, *args, **kwargs):
        if message.to == [o.manager_east.email]:
            raise SoftTimeLimitExceeded()
        return real_send(message, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", out_of_time_at_east)
    retried: dict[str, object] = {}

    def retry(**options):
        retried.update(options)
        return RuntimeError("retry")

    monkeypatch.setattr(tasks.send_weekly_digest, "retry", retry)
    with freeze_time("2026-03-09 07:00"), pytest.raises(RuntimeError, match="retry"):
        tasks.send_weekly_digest.run()
    assert retried["kwargs"] == {"today": "2026-03-09"}
    monkeypatch.setattr(EmailMultiAlternatives, "send", real_send)
    with freeze_time("2026-03-09 07:10"):
        assert tasks.send_weekly_digest.run(today="2026-03-09")["failed"] == 0
    assert sorted(m.to[0] for m in mail.outbox) == sorted([o.director.email, o.manager_east.email,
                                                            o.manager_west.email])  # fmt: skip


def test_a_change_through_the_services_reaches_the_rollups(book, django_capture_on_commit_callbacks, celery_eager):
    o, s = book.org, book.stages
    with django_capture_on_commit_callbacks(execute=True):
        deal = pipeline_services.deal_create(
            actor=o.rep_c,
            name="New",
            owner=o.rep_c,
            stage=s["Prospecting"],
            amount="7000",
            close_date=dt.date(2026, 2, 2),
        )
        pipeline_services.deal_move_stage(actor=o.rep_c, deal=deal, stage=s["Closed Won"])
    assert DealFact.objects.get(deal_id=deal.pk).status == "won"
    total = kpi_aggregates(Slice(*Q1), [])[(0, None)][None]
    assert total.bookings == Decimal("72000") and total.won_count == 5
    assert PersonMonth.objects.get(person_id=o.rep_c.pk, month=dt.date(2026, 2, 1)).credited == Decimal("7000")


def test_the_sweep_takes_in_changes_made_behind_the_services_back(book):
    o = book.org
    a1 = book.deals["A1"]
    with freeze_time("2030-01-01"):
        # A bulk write that announces nothing: the deal row's updated_at still moves.
        from pipeline.models import Deal

        Deal.objects.filter(pk=a1.pk).update(amount=Decimal("12000"), updated_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
        result = refresh_changed()
    assert result["deals"] >= 1
    owners = kpi_aggregates(Slice(*Q1), ["owner"])[(0, "owner")]
    assert owners[o.rep_a.pk].bookings == Decimal("27000")
    # Running it again changes nothing.
    before = list(PersonMonth.objects.order_by("month", "person_id").values_list("person_id", "credited"))
    refresh_changed()
    assert list(PersonMonth.objects.order_by("month", "person_id").values_list("person_id", "credited")) == before


def test_the_sweep_reads_again_only_the_history_ids_it_found_missing(book):
    """The sweep's watermark on the deal history is its largest id; a transaction that commits later may hold a
    smaller one. So the sweep notes the ids missing below its watermark and reads those again next time, rather
    than re-reading thousands of rows (and refreshing their deals) on every run."""
    from django.db import connection

    from pipeline.models import Deal, DealChange
    from reporting.models import RefreshState

    a1, b1 = book.deals["A1"], book.deals["B1"]
    # Dated long before the sweeps, so that they are not read again as recently updated deals.
    Deal.objects.update(updated_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    from reporting.refresh import rebuild_all

    assert rebuild_all()["kind"] == "full"
    assert RefreshState.objects.get().change_gaps is None  # unknown after a full build: the last ids are read again
    assert refresh_changed()["deals"] > 0
    assert refresh_changed()["deals"] == 0  # nothing new, nothing read again

    # A history id taken by a transaction still in flight (here: taken and not used yet), then a later change.
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('pipeline_dealchange', 'id'))")
        in_flight = cursor.fetchone()[0]
    DealChange.objects.create(deal=b1, field="competitor", new_value="Acme")
    assert refresh_changed()["deals"] == 1  # B1
    gaps = RefreshState.objects.get().change_gaps
    assert gaps is not None and in_flight in gaps
    assert refresh_changed()["deals"] == 0

    # The transaction commits: A1's amount and its history row, below the watermark. The next sweep takes it in.
    Deal.objects.filter(pk=a1.pk).update(amount=Decimal("12500"))
    DealChange.objects.create(id=in_flight, deal=a1, field="amount", old_value="10000", new_value="12500")
    assert DealFact.objects.get(deal_id=a1.pk).amount == Decimal("10000")
    assert refresh_changed()["deals"] == 1
    assert DealFact.objects.get(deal_id=a1.pk).amount == Decimal("12500")
    gaps = RefreshState.objects.get().change_gaps
    assert gaps is not None and in_flight not in gaps
    assert refresh_changed()["deals"] == 0
