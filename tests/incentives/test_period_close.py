"""A safer period close (issue 12): a period locks once it has ended (earlier only as an acknowledged early lock
with a reason), after a confirmation showing what the lock freezes; finance picks the open period a dispute's
adjustment is paid in; the rep reads the resolution on their statement (and, through a selector, on their home).

Every test freezes the clock: whether a period has ended, and which disputes are recent, never depend on the day
the tests run."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum
from django.urls import reverse
from freezegun import freeze_time

from incentives import selectors, services
from incentives.models import Adjustment, CommissionRun, Dispute, Payout, Period, StatementLine
from incentives.recompute import commission_recompute
from salesops.api import DomainError
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/incentives"
AFTER_Q2 = "2026-01-15 12:00:00"  # both quarters of the example have ended


@pytest.fixture
def computed(example: dict[str, Any]) -> dict[str, Any]:
    commission_recompute()
    example["finance"] = UserFactory.create(username="fin1", is_rep=False, is_finance=True)
    return example


def period(label: str) -> Period:
    return Period.objects.get(label=label)


def by_testid(html: str, name: str) -> str:
    """The text of the element with data-testid=name (no nested tags in the ones read here)."""
    found = re.search(rf'data-testid="{name}"[^>]*>([^<]*)<', html)
    assert found, f"no {name} in the page"
    return found.group(1).strip()


def hidden(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(expected_\w+)" value="([^"]*)"', html))


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


def dispute_on(who: Any, label: str, text: str = "My split should be 50 %") -> Dispute:
    line = StatementLine.objects.filter(payout__person=who, payout__period__label=label).order_by("id").first()
    assert line is not None
    return services.dispute_raise(actor=who, line=line, text=text)


# ------------------------------------------------------------------------------------------ early locks
def test_a_period_not_ended_locks_only_as_an_early_lock_with_a_reason(client_for, computed):
    q2 = period("2025-Q2")
    url = reverse("incentives:period_lock", args=[q2.pk])
    finance = client_for(computed["finance"])
    with freeze_time("2025-06-30 12:00:00"):  # the last day of 2025-Q2: it has not ended yet
        page = finance.get(url).content.decode()
        assert by_testid(page, "lock-not-ended").startswith("2025-Q2 has not ended: it runs until 30 Jun 2025")
        assert 'data-testid="lock-early"' in page
        refused = finance.post(url, {"reason": "payroll cut-off", **hidden(page)}).content.decode()
        assert (
            "2025-Q2 has not ended yet (it runs until 2025-06-30): deals may still close in it. To lock it now, "
            "confirm the early lock and say why."
        ) in refused
        assert 'value="payroll cut-off"' in refused  # the reason typed is kept for the second try
        assert not period("2025-Q2").is_locked
        # Ticking "lock early" without a reason is refused too.
        assert "Locking 2025-Q2 needs a reason." in finance.post(url, {"early": "true", "reason": " "}).content.decode()
        assert not period("2025-Q2").is_locked
        finance.post(url, {"early": "true", "reason": "payroll cut-off", **hidden(page)})
        assert period("2025-Q2").is_locked
    register = finance.get(reverse("incentives:register"), {"period": "2025-Q2"}).content.decode()
    assert "lock early" in register and "before its end on 2025-06-30" in register and "payroll cut-off" in register
    event = selectors.audit_events(entity="period", entity_id=str(q2.pk)).first()
    assert event is not None and event.reason == "payroll cut-off"
    assert event.changes["early"] == [None, "before its end on 2025-06-30"]


def test_a_period_locks_without_the_early_acknowledgement_from_the_day_after_its_end(client_for, computed):
    q2 = period("2025-Q2")
    finance = client_for(computed["finance"])
    with freeze_time("2025-07-01 12:00:00"):  # the first day after it
        page = finance.get(reverse("incentives:period_lock", args=[q2.pk])).content.decode()
        assert 'data-testid="lock-early"' not in page and "has not ended" not in page
        finance.post(reverse("incentives:period_lock", args=[q2.pk]), {"reason": "Q2 payroll sent", **hidden(page)})
    q2.refresh_from_db()
    assert q2.is_locked and q2.locked_by == computed["finance"]
    event = selectors.audit_events(entity="period", entity_id=str(q2.pk)).first()
    assert event is not None and "early" not in event.changes


def test_the_service_refuses_an_early_lock_not_acknowledged(computed):
    with freeze_time("2025-05-15 12:00:00"), pytest.raises(DomainError, match="2025-Q2 has not ended yet") as error:
        services.period_lock(actor=computed["finance"], period=period("2025-Q2"), reason="x")
    assert error.value.field == "early"
    assert not period("2025-Q2").is_locked


# ------------------------------------------------------------------------------------------ confirmation
def test_the_confirmation_shows_what_the_lock_freezes_and_what_blocks_it(client_for, computed):
    q1 = period("2025-Q1")
    url = reverse("incentives:period_lock", args=[q1.pk])
    finance = client_for(computed["finance"])
    with freeze_time(AFTER_Q2):
        services.adjustment_create(actor=computed["finance"], person=computed["ann"], period=q1, amount="-120.50",
                                   reason="Expense offset")  # fmt: skip
        dispute = dispute_on(computed["bob"], "2025-Q1")
        register = finance.get(reverse("incentives:register"), {"period": "2025-Q1"}).content.decode()
        assert f'href="{url}" data-testid="lock-period"' in register
        page = finance.get(url).content.decode()

        payouts = Payout.objects.filter(period=q1)
        paid = payouts.aggregate(t=Sum("payout"))["t"]
        assert paid == Decimal("27950.00")  # 20,150 + 3,600 + 4,200 (the spec's first example)
        assert by_testid(page, "lock-payouts") == str(payouts.count()) == "3"
        assert by_testid(page, "lock-payout-sum") == money(paid)
        assert by_testid(page, "lock-adjustments") == "-120.50"
        assert by_testid(page, "lock-total") == money(paid - Decimal("120.50")) == "27,829.50"
        assert by_testid(page, "lock-lines") == str(StatementLine.objects.filter(payout__period=q1).count())
        assert by_testid(page, "lock-open-disputes") == "1"
        run = CommissionRun.objects.order_by("-started_at").first()
        assert run is not None
        last_run = page[page.index('data-testid="lock-last-run"') :]
        assert "Done" in last_run[:400] and run.finished_at is not None
        assert f"finished {run.finished_at.day} {run.finished_at:%b %Y, %H:%M}" in last_run[:600]
        # The open dispute blocks the lock: no form, a link to resolve it.
        assert "1 open dispute on 2025-Q1" in page and 'data-testid="lock-form"' not in page
        response = finance.post(url, {"reason": "payroll sent", **hidden(page)}).content.decode()
        assert "2025-Q1 has 1 open dispute(s); resolve them before locking." in response
        assert not period("2025-Q1").is_locked

        services.dispute_resolve(actor=computed["finance"], dispute=dispute, accept=False, resolution="Split is right")
        page = finance.get(url).content.decode()
        assert 'data-testid="lock-form"' in page and by_testid(page, "lock-open-disputes") == "0"
        assert hidden(page) == {"expected_payouts": "3", "expected_lines": by_testid(page, "lock-lines"),
                                "expected_total": "27829.50"}  # fmt: skip
        done = finance.post(url, {"reason": "payroll sent", **hidden(page)}, follow=True).content.decode()
    assert "2025-Q1 is locked: its payouts no longer change." in done
    assert period("2025-Q1").is_locked
    # The confirmation is finance's (client_for signs the one test client in as someone else).
    assert client_for(computed["mia"]).get(url).status_code == 403
    assert client_for(computed["ops"]).get(url).status_code == 403


def test_the_lock_is_refused_when_the_figures_changed_since_the_confirmation(client_for, computed):
    q1 = period("2025-Q1")
    url = reverse("incentives:period_lock", args=[q1.pk])
    finance = client_for(computed["finance"])
    with freeze_time(AFTER_Q2):
        shown = hidden(finance.get(url).content.decode())
        # Meanwhile another finance user books an adjustment in the period.
        services.adjustment_create(actor=computed["finance"], person=computed["bob"], period=q1, amount="250",
                                   reason="Late spiff")  # fmt: skip
        page = finance.post(url, {"reason": "payroll sent", **shown}).content.decode()
        assert (
            "The figures of 2025-Q1 changed since they were shown (3 payouts, "
            f"{shown['expected_lines']} statement lines, 27,950.00 to pay then, 3 payouts, "
            f"{shown['expected_lines']} statement lines, 28,200.00 to pay now): look at them again before locking."
        ) in page
        assert not period("2025-Q1").is_locked
        assert by_testid(page, "lock-total") == "28,200.00"  # the page shows the figures as they are now
        finance.post(url, {"reason": "payroll sent", **hidden(page)})
    assert period("2025-Q1").is_locked


def test_the_api_previews_and_locks_by_the_same_rules(api_client_for, computed):
    q2 = period("2025-Q2")
    finance = api_client_for(computed["finance"])
    preview_url, lock_url = f"{API}/periods/{q2.pk}/lock-preview/", f"{API}/periods/{q2.pk}/lock/"
    assert api_client_for(computed["ops"]).get(preview_url).status_code == 403
    assert api_client_for(computed["bob"]).get(preview_url).status_code == 403
    with freeze_time("2025-05-15 12:00:00"):
        preview = finance.get(preview_url).json()
        paid = Payout.objects.filter(period=q2).aggregate(t=Sum("payout"))["t"]
        assert (preview["payouts"], preview["payout_sum"], preview["adjustments"], preview["total"]) == (
            Payout.objects.filter(period=q2).count(), f"{paid:.2f}", "0.00", f"{paid:.2f}"
        )  # fmt: skip
        assert preview["statement_lines"] == StatementLine.objects.filter(payout__period=q2).count()
        assert (preview["has_ended"], preview["open_disputes"], preview["blocked"]) == (False, 0, False)
        assert preview["last_run"]["status"] == "done"
        refused = finance.post(lock_url, {"reason": "cut-off"}, format="json")
        assert refused.status_code == 400
        assert refused.json()["early"] == [
            "2025-Q2 has not ended yet (it runs until 2025-06-30): deals may still close in it. To lock it now, "
            "confirm the early lock and say why."
        ]
        figures = {"expected_payouts": preview["payouts"], "expected_lines": preview["statement_lines"]}
        partial = finance.post(lock_url, {"reason": "cut-off", "early": True, **figures}, format="json")
        assert partial.status_code == 400 and "together" in partial.json()["expected_total"][0]
        stale = {**figures, "expected_total": "1.00"}
        changed = finance.post(lock_url, {"reason": "cut-off", "early": True, **stale}, format="json")
        assert changed.status_code == 400 and "changed since they were shown" in changed.json()["detail"]
        assert not period("2025-Q2").is_locked
        body = {"reason": "cut-off", "early": True, **figures, "expected_total": preview["total"]}
        locked = finance.post(lock_url, body, format="json")
        assert locked.status_code == 200 and locked.json()["is_locked"] is True
        assert finance.get(preview_url).json()["blocked"] is True


def test_the_disputes_list_pages_and_counts(client_for, computed, monkeypatch):
    from incentives import views

    monkeypatch.setattr(views, "DISPUTES_PAGE", 1)
    bob, finance = computed["bob"], client_for(computed["finance"])
    with freeze_time(AFTER_Q2):
        dispute_on(bob, "2025-Q1", "First")
        dispute_on(bob, "2025-Q2", "Second")
        first = finance.get(reverse("incentives:disputes")).content.decode()
        second = finance.get(reverse("incentives:disputes"), {"status": "open", "page": "2"}).content.decode()
    assert by_testid(first, "disputes-count") == "2 disputes · page 1 of 2"
    assert "?status=open&page=2" in first
    # Raised at the same moment: newest id first, then the other, each on its own page.
    assert (">Second<" in first, ">First<" in first) == (True, False)
    assert (">Second<" in second, ">First<" in second) == (False, True)


# ----------------------------------------------------------------------------- where an adjustment lands
def test_finance_picks_the_open_period_a_disputes_adjustment_is_paid_in(client_for, computed):
    bob, finance_user = computed["bob"], computed["finance"]
    finance = client_for(finance_user)
    with freeze_time(AFTER_Q2):
        dispute = dispute_on(bob, "2025-Q1")
        page = finance.get(reverse("incentives:disputes")).content.decode()
        select = page[page.index('data-testid="adjustment-period"') :].split("</select>")[0]
        # Open quarters only (the example's, and the monthly periods are not offered), the disputed one by default.
        assert re.findall(r'<option value="([^"]+)"', select) == ["2025-Q1", "2025-Q2"]
        assert '<option value="2025-Q1" selected>2025-Q1 (default)' in select
        url = reverse("incentives:dispute_resolve", args=[dispute.pk])
        answer = {"decision": "accept", "amount": "500", "resolution": "Split corrected to 50/50"}
        # A locked period is refused with a message naming it; nothing is booked, the dispute stays open.
        services.period_get_or_create("2025-Q3")
        services.period_lock(actor=finance_user, period=period("2025-Q3"), reason="closed early", early=True)
        response = finance.post(url, {**answer, "period": "2025-Q3"}, follow=True).content.decode()
        assert f"2025-Q3 is locked: choose an open period for dispute {dispute.pk}&#x27;s adjustment." in response
        services.period_get_or_create("2025-05")
        response = finance.post(url, {**answer, "period": "2025-05"}, follow=True).content.decode()
        assert f"2025-05 is a month; dispute {dispute.pk} is on 2025-Q1: choose an open quarter." in response
        response = finance.post(url, {**answer, "period": "2031-Q9"}, follow=True).content.decode()
        assert "There is no open period 2031-Q9" in response
        dispute.refresh_from_db()
        assert dispute.status == "open" and not Adjustment.objects.exists()

        response = finance.post(url, {**answer, "period": "2025-Q2"}, follow=True).content.decode()
        assert f"Dispute {dispute.pk} resolved: 500.00 paid in 2025-Q2." in response
    dispute.refresh_from_db()
    assert dispute.status == "accepted" and dispute.adjustment is not None
    assert (dispute.adjustment.period.label, dispute.adjustment.amount) == ("2025-Q2", Decimal("500.00"))
    register = finance.get(reverse("incentives:register"), {"period": "2025-Q2"}).content.decode()
    bob_q2 = selectors.payout_register(finance_user, period("2025-Q2")).get(person=bob)
    assert bob_q2.total == bob_q2.payout + Decimal("500.00")  # type: ignore[attr-defined]
    assert "500.00" in register
    # Q1 pays what it paid before.
    assert selectors.payout_register(finance_user, period("2025-Q1")).get(person=bob).adjustments == 0  # type: ignore[attr-defined]


def test_by_default_the_adjustment_lands_in_the_next_open_period_even_one_not_stored_yet(client_for, computed):
    bob, finance_user = computed["bob"], computed["finance"]
    finance = client_for(finance_user)
    with freeze_time(AFTER_Q2):
        for label in ("2025-Q1", "2025-Q2"):
            services.period_lock(actor=finance_user, period=period(label), reason="payroll sent")
        dispute = dispute_on(bob, "2025-Q1")  # raised through the API or before the lock, say
        assert not Period.objects.filter(label="2025-Q3").exists()
        page = finance.get(reverse("incentives:disputes")).content.decode()
        select = page[page.index('data-testid="adjustment-period"') :].split("</select>")[0]
        assert '<option value="2025-Q3" selected>2025-Q3 (default)' in select
        assert not Period.objects.filter(label="2025-Q3").exists()  # showing the page created nothing
        url = reverse("incentives:dispute_resolve", args=[dispute.pk])
        finance.post(url, {"decision": "accept", "amount": "-75.25", "resolution": "Overpaid", "period": "2025-Q3"})
    dispute.refresh_from_db()
    assert dispute.adjustment is not None
    assert (dispute.adjustment.period.label, dispute.adjustment.amount) == ("2025-Q3", Decimal("-75.25"))
    assert not dispute.adjustment.period.is_locked


def test_the_api_resolves_into_the_period_finance_picks(api_client_for, computed):
    bob, finance_user = computed["bob"], computed["finance"]
    finance = api_client_for(finance_user)
    with freeze_time(AFTER_Q2):
        dispute = dispute_on(bob, "2025-Q1")
        services.period_lock(actor=finance_user, period=period("2025-Q2"), reason="payroll sent")
        url = f"{API}/disputes/{dispute.pk}/resolve/"
        answer = {"accept": True, "amount": "500", "resolution": "Split corrected to 50/50"}
        refused = finance.post(url, {**answer, "period": "2025-Q2"}, format="json")
        assert refused.status_code == 400
        assert refused.json()["period"] == [f"2025-Q2 is locked: choose an open period for dispute {dispute.pk}'s "
                                            "adjustment."]  # fmt: skip
        assert not Adjustment.objects.exists()
        services.period_get_or_create("2025-Q4")
        done = finance.post(url, {**answer, "period": "2025-Q4"}, format="json")
    assert done.status_code == 200, done.content
    assert (done.json()["adjustment_amount"], done.json()["adjustment_period"]) == ("500.00", "2025-Q4")
    mine = api_client_for(bob).get(f"{API}/disputes/{dispute.pk}/").json()
    assert (mine["status"], mine["resolution"], mine["adjustment_period"]) == (
        "accepted", "Split corrected to 50/50", "2025-Q4"
    )  # fmt: skip


# --------------------------------------------------------------------------------- what the rep reads
def test_the_rep_reads_the_resolution_on_the_statement(client_for, computed):
    bob, finance_user = computed["bob"], computed["finance"]
    with freeze_time(AFTER_Q2):
        accepted = dispute_on(bob, "2025-Q1")
        services.dispute_resolve(actor=finance_user, dispute=accepted, accept=True, amount="500",
                                 resolution="Split corrected to 50/50", period=period("2025-Q2"))  # fmt: skip
        line = StatementLine.objects.filter(payout__person=bob, payout__period__label="2025-Q1").order_by("id")[1]
        rejected = services.dispute_raise(actor=bob, line=line, text="The spiff is missing")
        services.dispute_resolve(actor=finance_user, dispute=rejected, accept=False,
                                 resolution="GTX Basic earns no spiff")  # fmt: skip
    rep = client_for(bob)
    q1_payout = Payout.objects.get(person=bob, period__label="2025-Q1")
    q2_payout = Payout.objects.get(person=bob, period__label="2025-Q2")
    html = rep.get(reverse("incentives:statement", args=[q1_payout.pk])).content.decode()
    row = html[html.index(f'data-testid="dispute-{accepted.pk}"') :].split("</tr>")[0]
    assert "Accepted" in row and "Split corrected to 50/50" in row and "500.00" in row
    assert f'<a href="{reverse("incentives:statement", args=[q2_payout.pk])}">2025-Q2</a>' in row
    assert f"15 Jan 2026 by {finance_user.display_name}" in row
    row = html[html.index(f'data-testid="dispute-{rejected.pk}"') :].split("</tr>")[0]
    assert "Rejected" in row and "GTX Basic earns no spiff" in row and "The spiff is missing" in row
    # Beside the disputed line: the status, and what was paid where.
    lines = html[html.index('data-testid="statement-lines"') :]
    assert "Accepted</a> <small>500.00 in 2025-Q2</small>" in lines
    # The statement the money landed on says where it came from.
    q2 = rep.get(reverse("incentives:statement", args=[q2_payout.pk])).content.decode()
    assert f"Dispute {accepted.pk}: Split corrected to 50/50" in q2 and "(raised on the 2025-Q1 statement)" in q2
    assert by_testid(q2, "statement-total") == money(q2_payout.payout + Decimal("500.00"))
    # A rep's open dispute hides the line's dispute form until finance answers; a resolved one does not.
    with freeze_time(AFTER_Q2):
        dispute_on(bob, "2025-Q2", text="Wrong rate")
    q2 = rep.get(reverse("incentives:statement", args=[q2_payout.pk])).content.decode()
    assert "waiting for finance" in q2


def test_recent_dispute_resolutions_for_the_home(computed, django_assert_num_queries):
    bob, ann, finance_user = computed["bob"], computed["ann"], computed["finance"]
    with freeze_time("2025-12-01 09:00:00"):
        old = dispute_on(bob, "2025-Q1", text="Old one")
        services.dispute_resolve(actor=finance_user, dispute=old, accept=False, resolution="No")
    with freeze_time("2026-01-10 09:00:00"):
        paid = dispute_on(bob, "2025-Q2", text="Split")
        services.dispute_resolve(actor=finance_user, dispute=paid, accept=True, amount="500",
                                 resolution="Split corrected")  # fmt: skip
        dispute_on(bob, "2025-Q1", text="Still open")
        annes = dispute_on(ann, "2025-Q1", text="Ann's")
        services.dispute_resolve(actor=finance_user, dispute=annes, accept=False, resolution="No")
    with freeze_time(AFTER_Q2), django_assert_num_queries(1):
        rows = selectors.recent_dispute_resolutions(bob, days=30)
    assert rows == [
        selectors.DisputeResolution(
            dispute_id=paid.pk, status="accepted", status_label="Accepted", disputed_period="2025-Q2",
            statement_id=Payout.objects.get(person=bob, period__label="2025-Q2").pk, deal_key=paid.deal_key,
            text="Split", resolution="Split corrected", resolved_at=dt.datetime(2026, 1, 10, 9, tzinfo=dt.UTC),
            resolved_by=finance_user.display_name, amount=Decimal("500.00"), landed_period="2025-Q2",
            landed_statement_id=Payout.objects.get(person=bob, period__label="2025-Q2").pk,
        )
    ]  # fmt: skip
    with freeze_time(AFTER_Q2):
        assert [r.dispute_id for r in selectors.recent_dispute_resolutions(bob, days=60)] == [paid.pk, old.pk]
        assert selectors.recent_dispute_resolutions(bob, days=60)[1].amount is None
        assert selectors.recent_dispute_resolutions(computed["mia"]) == []  # a manager's home: their own only
