"""The whole deal lifecycle: lost needs a reason from the list sales ops keep; a won deal leaves won or is
cancelled only with a reason, and in a locked commission period only by finance; cancel on the page and the API.

Dates are fixed in 2025 (long ended periods, so they lock like any closed quarter) and every "today" is passed
in or frozen: nothing depends on the day the tests run."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from incentives import services as pay
from pipeline import services
from pipeline.models import Deal, DealChange, LostReason
from salesops.api import DomainError
from salesops.org.models import AuditEvent
from tests.factories import DealFactory, default_stages

pytestmark = pytest.mark.django_db

CLOSED = dt.date(2025, 2, 10)  # in 2025-02 and 2025-Q1
CANCELLED = dt.date(2025, 4, 15)  # in 2025-04 and 2025-Q2


@pytest.fixture
def deals(org):
    services.lost_reasons()  # the seeded defaults (a test database flushed by an earlier test has none)
    stages = default_stages()
    return {
        "open": DealFactory.create(name="Alpha renewal", owner=org.rep_a, stage=stages["Proposal"]),
        "won": DealFactory.create(
            name="Bravo expansion", owner=org.rep_a, stage=stages["Closed Won"], close_date=CLOSED
        ),
        "other": DealFactory.create(name="Charlie new", owner=org.rep_c, stage=stages["Closed Won"], close_date=CLOSED),
    }


def lock(org, label: str) -> None:
    pay.period_lock(actor=org.finance, period=pay.period_get_or_create(label), reason="payroll sent")


def history(deal: Deal) -> dict[str, tuple[str, str, str]]:
    return {c.field: (c.old_value, c.new_value, c.reason) for c in DealChange.objects.filter(deal=deal)}


# ------------------------------------------------------------------------------------------ lost reasons
def test_the_default_lost_reasons_are_there_and_sales_ops_keep_them(client_for, org):
    assert [r.name for r in services.lost_reasons()] == [
        "Price", "Lost to competitor", "No decision", "Timing", "Budget cut", "Feature gap"]  # fmt: skip
    client = client_for(org.ops)
    page = client.get(reverse("pipeline:setup")).content.decode()
    assert 'data-testid="lost-reasons"' in page and 'value="Feature gap"' in page
    client.post(reverse("pipeline:lost_reason_create"), {"name": "  Went  in-house ", "is_active": "on"})
    assert LostReason.objects.filter(name="Went in-house", is_active=True).exists()
    timing = LostReason.objects.get(name="Timing")
    client.post(reverse("pipeline:lost_reason_edit", args=[timing.pk]), {"name": "Bad timing", "position": "9"})
    timing.refresh_from_db()
    assert (timing.name, timing.is_active, timing.position) == ("Bad timing", False, 9)  # unticked: retired
    assert "Bad timing" not in [r.name for r in services.lost_reasons()]
    event = AuditEvent.objects.filter(entity="pipeline.lostreason", entity_id=str(timing.pk)).latest("id")
    assert event.changes["name"] == ["Timing", "Bad timing"] and event.actor == org.ops
    response = client.post(reverse("pipeline:lost_reason_create"), {"name": "price", "is_active": "on"}, follow=True)
    assert "There is a lost reason named &#x27;price&#x27; already." in response.content.decode()


@pytest.mark.parametrize("who", ["rep_a", "manager_east", "finance"])
def test_only_sales_ops_set_up_lost_reasons(client_for, api_client_for, org, who):
    person = getattr(org, who)
    client = client_for(person)
    assert client.get(reverse("pipeline:setup")).status_code == 403
    assert client.post(reverse("pipeline:lost_reason_create"), {"name": "Mine"}).status_code == 403
    api = api_client_for(person)
    assert "Price" in [r["name"] for r in api.get("/api/v1/lost-reasons/").json()]
    assert api.post("/api/v1/lost-reasons/", {"name": "Mine"}, format="json").status_code == 403
    assert not LostReason.objects.filter(name="Mine").exists()


def test_lost_reasons_api_for_sales_ops(api_client_for, org):
    api = api_client_for(org.ops)
    created = api.post("/api/v1/lost-reasons/", {"name": "Merger"}, format="json")
    assert created.status_code == 201 and created.json()["is_active"] is True
    pk = created.json()["id"]
    assert api.patch(f"/api/v1/lost-reasons/{pk}/", {"is_active": False}, format="json").json()["name"] == "Merger"
    active = [r["name"] for r in api.get("/api/v1/lost-reasons/", {"active": "true"}).json()]
    assert "Merger" not in active and "Price" in active
    clash = api.post("/api/v1/lost-reasons/", {"name": "PRICE"}, format="json")
    assert clash.status_code == 400 and "already" in clash.json()["detail"]


# ---------------------------------------------------------------------------------- closing as lost
def test_lost_needs_a_reason_from_the_active_list(org, deals):
    lost = default_stages()["Closed Lost"]
    deal = deals["open"]
    with pytest.raises(DomainError) as error:
        services.deal_move_stage(actor=org.rep_a, deal=deal, stage=lost)
    assert error.value.message.startswith(
        "Alpha renewal cannot be closed as lost without a reason: choose one of Price"
    )
    LostReason.objects.filter(name="Timing").update(is_active=False)
    with pytest.raises(DomainError, match=r"'Timing' is not a lost reason in use; choose one of .* for Alpha renewal"):
        services.deal_move_stage(actor=org.rep_a, deal=deal, stage=lost, lost_reason="Timing")
    deal.refresh_from_db()
    assert deal.status == "open" and deal.stage.name == "Proposal"
    assert not DealChange.objects.filter(deal=deal).exists()  # nothing half-written

    services.deal_move_stage(actor=org.rep_a, deal=deal, stage=lost, lost_reason="lost to COMPETITOR",
                             lost_note="They bundled support", lost_competitor="Initech")  # fmt: skip
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason, deal.lost_note, deal.lost_competitor) == (
        "lost", "Lost to competitor", "They bundled support", "Initech")  # fmt: skip
    rows = history(deal)
    assert rows["stage"] == ("Proposal", "Closed Lost", "Lost to competitor: They bundled support")
    assert rows["lost_reason"] == ("", "Lost to competitor", "")
    assert rows["lost_note"] == ("", "They bundled support", "")
    assert rows["competitor"] == ("", "Initech", "")
    assert DealChange.objects.get(deal=deal, field="stage").changed_by == org.rep_a


def test_reopening_a_lost_deal_clears_its_reason_and_history_keeps_it(org, deals):
    stages = default_stages()
    deal = services.deal_move_stage(
        actor=org.rep_a, deal=deals["open"], stage=stages["Closed Lost"], lost_reason="Price"
    )
    deal = services.deal_move_stage(actor=org.rep_a, deal=deal, stage=stages["Proposal"])
    assert (deal.status, deal.lost_reason) == ("open", "")
    assert [c.new_value for c in DealChange.objects.filter(deal=deal, field="lost_reason")] == ["Price", ""]
    with pytest.raises(DomainError, match="Alpha renewal is not lost"):
        services.deal_update(actor=org.rep_a, deal=deal, lost_reason="Price")


def test_the_deal_page_refuses_lost_without_a_reason_and_takes_one(client_for, org, deals):
    client = client_for(org.rep_a)
    deal, lost = deals["open"], default_stages()["Closed Lost"]
    page = client.get(reverse("pipeline:deal_detail", args=[deal.pk])).content.decode()
    assert 'data-testid="close-lost-form"' in page and '<option value="Budget cut">' in page
    # The stage path's lost step opens the form that asks why, rather than posting a move it would refuse.
    assert f'data-testid="path-lost-{lost.pk}"' in page and '<details id="close-lost">' in page
    opened = client.get(reverse("pipeline:deal_detail", args=[deal.pk]), {"lost": lost.pk}).content.decode()
    assert '<details id="close-lost" open>' in opened
    response = client.post(reverse("pipeline:deal_move", args=[deal.pk]), {"stage": lost.pk}, follow=True)
    assert "Alpha renewal cannot be closed as lost without a reason" in response.content.decode()
    deal.refresh_from_db()
    assert deal.status == "open"
    client.post(reverse("pipeline:deal_move", args=[deal.pk]),
                {"stage": lost.pk, "lost_reason": "Budget cut", "lost_note": "Frozen till Q3"})  # fmt: skip
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason, deal.lost_note) == ("lost", "Budget cut", "Frozen till Q3")
    page = client.get(reverse("pipeline:deal_detail", args=[deal.pk])).content.decode()
    assert "why: Budget cut: Frozen till Q3" in page  # the timeline says why


def test_the_board_asks_why_and_refuses_a_lost_drop_without_a_reason(client_for, org, deals):
    client = client_for(org.rep_a)
    deal, lost = deals["open"], default_stages()["Closed Lost"]
    url = reverse("pipeline:deal_move", args=[deal.pk])
    form = client.post(url, {"stage": lost.pk}, HTTP_HX_REQUEST="true")
    html = form.content.decode()
    assert 'data-testid="lost-form"' in html and "Why is Alpha renewal lost?" in html and "HX-Trigger" not in form
    refused = client.post(url, {"stage": lost.pk, "asked": "1", "lost_reason": ""}, HTTP_HX_REQUEST="true")
    assert refused["HX-Trigger"] == "deal-move-refused"
    assert "Alpha renewal cannot be closed as lost without a reason" in refused.content.decode()
    deal.refresh_from_db()
    assert deal.stage.name == "Proposal"
    moved = client.post(url, {"stage": lost.pk, "asked": "1", "lost_reason": "No decision"}, HTTP_HX_REQUEST="true")
    assert moved["HX-Trigger"] == "deal-moved"
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason) == ("lost", "No decision")


def test_the_api_refuses_lost_without_a_reason_on_move_and_patch(api_client_for, org, deals):
    api = api_client_for(org.rep_a)
    deal, lost = deals["open"], default_stages()["Closed Lost"]
    response = api.post(f"/api/v1/deals/{deal.pk}/move/", {"stage": lost.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["lost_reason"][0].startswith("Alpha renewal cannot be closed as lost without a reason")
    response = api.patch(f"/api/v1/deals/{deal.pk}/", {"stage": lost.pk, "next_step": "x"}, format="json")
    assert response.status_code == 400
    deal.refresh_from_db()
    assert (deal.status, deal.next_step) == ("open", "")  # the PATCH is all or nothing
    response = api.patch(f"/api/v1/deals/{deal.pk}/", {"stage": lost.pk, "lost_reason": "Feature gap",
                                                        "lost_competitor": "Globex"}, format="json")  # fmt: skip
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["lost_reason"], body["lost_competitor"]) == ("lost", "Feature gap", "Globex")


# ------------------------------------------------------------------------------------- out of won
def test_a_won_deal_leaves_won_only_with_a_reason(org, deals):
    stages = default_stages()
    deal = deals["won"]
    with pytest.raises(DomainError, match="Bravo expansion is won: say why it leaves Closed Won"):
        services.deal_move_stage(actor=org.rep_a, deal=deal, stage=stages["Proposal"])
    deal = services.deal_move_stage(actor=org.manager_east, deal=deal, stage=stages["Proposal"],
                                    reason="Signed by the wrong entity; re-papering")  # fmt: skip
    assert deal.status == "open"
    assert history(deal)["stage"] == ("Closed Won", "Proposal", "Signed by the wrong entity; re-papering")


def test_a_won_deal_lost_says_why_with_its_lost_reason(org, deals):
    deal = services.deal_move_stage(actor=org.rep_a, deal=deals["won"], stage=default_stages()["Closed Lost"],
                                    lost_reason="Budget cut")  # fmt: skip
    assert (deal.status, deal.lost_reason) == ("lost", "Budget cut")
    assert history(deal)["stage"][2] == "Budget cut"


@pytest.mark.parametrize("who", ["rep_a", "manager_east", "ops"])
def test_out_of_won_in_a_locked_period_is_refused_but_to_finance(org, deals, who):
    lock(org, "2025-Q1")
    stage = default_stages()["Proposal"]
    with pytest.raises(DomainError) as error:
        services.deal_move_stage(actor=getattr(org, who), deal=deals["won"], stage=stage, reason="mistake")
    assert error.value.message == (
        "Bravo expansion closed on 10 Feb 2025, in 2025-Q1, which is locked: it cannot leave Closed Won. Only "
        "finance may do this; the difference is then paid in the next open period.")  # fmt: skip
    assert Deal.objects.get(pk=deals["won"].pk).status == "won"
    deal = services.deal_move_stage(actor=org.finance, deal=deals["won"], stage=stage, reason="mistake")
    assert deal.status == "open" and DealChange.objects.get(deal=deal, field="stage").changed_by == org.finance


def test_a_won_deal_of_a_locked_period_is_not_moved_out_or_repriced_but_by_finance(api_client_for, org, deals):
    """Moving its close date out of the locked period (then out of won), re-pricing it, handing it to someone
    else or re-splitting it would change what the locked period paid: refused, page, API and service alike."""
    lock(org, "2025-Q1")
    won = deals["won"]
    rep = api_client_for(org.rep_a)
    response = rep.patch(f"/api/v1/deals/{won.pk}/", {"close_date": "2025-05-01"}, format="json")
    assert response.status_code == 400
    assert "Bravo expansion is won in 2025-Q1, which is locked: its close date no longer change" in str(response.json())
    assert rep.patch(f"/api/v1/deals/{won.pk}/", {"amount": "0.00"}, format="json").status_code == 400
    with pytest.raises(DomainError, match="its owner no longer change"):
        services.deal_update(actor=org.manager_east, deal=won, owner=org.rep_b)
    with pytest.raises(DomainError, match="its splits no longer change"):
        services.deal_set_splits(actor=org.rep_a, deal=won, splits=[services.SplitSpec(org.rep_b, Decimal(100))])
    won.refresh_from_db()
    assert (won.close_date, won.owner_id, won.splits.count()) == (CLOSED, org.rep_a.pk, 0)
    # Finance may: the recompute then books the difference in the next open period.
    assert services.deal_update(actor=org.finance, deal=won, amount="15000").amount == Decimal("15000.00")
    # An open deal of the same dates changes freely.
    assert services.deal_update(actor=org.rep_a, deal=deals["open"], close_date=CLOSED).close_date == CLOSED


def test_a_locked_month_counts_as_much_as_a_locked_quarter(org, deals):
    lock(org, "2025-02")
    with pytest.raises(DomainError, match="in 2025-02, which is locked"):
        services.deal_cancel(actor=org.rep_a, deal=deals["won"], on=dt.date(2025, 2, 20), reason="withdrew")
    # Cancelled in an open month: the clawback lands there; the locked close month is not touched.
    services.deal_cancel(actor=org.rep_a, deal=deals["won"], on=dt.date(2025, 3, 3), reason="withdrew")


def test_finance_takes_a_won_deal_out_of_won_on_the_page_and_the_api_but_not_an_open_one(
    client_for, api_client_for, org, deals
):
    lock(org, "2025-Q1")
    negotiation = default_stages()["Proposal"]
    manager = client_for(org.manager_east)
    response = manager.post(reverse("pipeline:deal_move", args=[deals["won"].pk]),
                            {"stage": negotiation.pk, "reason": "wrong"}, follow=True)  # fmt: skip
    assert "which is locked" in response.content.decode()
    api = api_client_for(org.finance)
    assert (
        api.post(f"/api/v1/deals/{deals['open'].pk}/move/", {"stage": negotiation.pk}, format="json").status_code == 403
    )
    response = api.post(f"/api/v1/deals/{deals['won'].pk}/move/", {"stage": negotiation.pk, "reason": "wrong"},
                        format="json")  # fmt: skip
    assert response.status_code == 200 and response.json()["status"] == "open"


# ------------------------------------------------------------------------------------------ cancel
def test_cancel_on_the_page_needs_a_reason_and_records_it(client_for, org, deals):
    client = client_for(org.rep_a)
    deal = deals["won"]
    page = client.get(reverse("pipeline:deal_detail", args=[deal.pk])).content.decode()
    assert 'data-testid="cancel-form"' in page
    url = reverse("pipeline:deal_cancel", args=[deal.pk])
    response = client.post(url, {"reason": "", "date": CANCELLED.isoformat()}, follow=True)
    assert "Bravo expansion was not cancelled: Reason This field is required." in response.content.decode()
    assert Deal.objects.get(pk=deal.pk).cancelled_on is None
    response = client.post(url, {"reason": "Customer went bankrupt", "date": CANCELLED.isoformat()}, follow=True)
    assert "Cancelled Bravo expansion on 15 Apr 2025." in response.content.decode()
    deal.refresh_from_db()
    assert (deal.cancelled_on, deal.cancel_reason, deal.status) == (CANCELLED, "Customer went bankrupt", "won")
    change = DealChange.objects.get(deal=deal, field="cancelled")
    assert (change.new_value, change.reason, change.changed_by) == ("2025-04-15", "Customer went bankrupt", org.rep_a)
    page = client.get(reverse("pipeline:deal_detail", args=[deal.pk])).content.decode()
    assert 'data-testid="cancel-form"' not in page and "Customer went bankrupt" in page
    response = client.post(url, {"reason": "again", "date": CANCELLED.isoformat()}, follow=True)
    assert "Bravo expansion was cancelled on 15 Apr 2025 already." in response.content.decode()


def test_cancel_through_the_api(api_client_for, org, deals):
    api = api_client_for(org.manager_east)
    url = f"/api/v1/deals/{deals['won'].pk}/cancel/"
    response = api.post(url, {"reason": " ", "date": "2025-04-15"}, format="json")
    assert response.status_code == 400 and response.json()["detail"] == "Cancelling Bravo expansion needs a reason."
    response = api.post(url, {"reason": "x", "date": "2025-01-01"}, format="json")
    assert response.status_code == 400
    assert (
        response.json()["detail"]
        == "Bravo expansion: the cancellation date 1 Jan 2025 is before the close date 10 Feb 2025."
    )
    response = api.post(url, {"reason": "Customer withdrew", "date": "2025-04-15"}, format="json")
    assert response.status_code == 200
    assert (response.json()["cancelled_on"], response.json()["cancel_reason"]) == ("2025-04-15", "Customer withdrew")
    open_deal = api.post(f"/api/v1/deals/{deals['open'].pk}/cancel/", {"reason": "x"}, format="json")
    assert (
        open_deal.status_code == 400
        and open_deal.json()["detail"] == "Alpha renewal is not won; only won deals are cancelled."
    )


def test_cancel_dated_today_when_no_date_is_given(api_client_for, org, deals):
    from freezegun import freeze_time

    with freeze_time("2025-05-02 10:00:00"):
        response = api_client_for(org.rep_a).post(f"/api/v1/deals/{deals['won'].pk}/cancel/", {"reason": "gone"},
                                                  format="json")  # fmt: skip
    assert response.status_code == 200 and response.json()["cancelled_on"] == "2025-05-02"


@pytest.mark.parametrize("who", ["rep_a", "manager_east"])
def test_a_cancellation_in_a_locked_period_is_finance_s(api_client_for, client_for, org, deals, who):
    lock(org, "2025-Q2")
    response = api_client_for(getattr(org, who)).post(
        f"/api/v1/deals/{deals['won'].pk}/cancel/", {"reason": "withdrew", "date": "2025-04-15"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "Bravo expansion cannot be cancelled on 15 Apr 2025: that day is in 2025-Q2, which is locked. Only finance "
        "may do this; the difference is then paid in the next open period.")  # fmt: skip
    client = client_for(org.finance)
    page = client.get(reverse("pipeline:deal_detail", args=[deals["won"].pk])).content.decode()
    assert 'data-testid="cancel-form"' in page  # finance reads deals and may cancel a won one
    client.post(reverse("pipeline:deal_cancel", args=[deals["won"].pk]), {"reason": "withdrew", "date": "2025-04-15"})
    assert Deal.objects.get(pk=deals["won"].pk).cancelled_on == CANCELLED


def test_cancel_permissions(api_client_for, client_for, org, deals):
    other = deals["other"]  # rep_c's, under manager_west
    body = {"reason": "x", "date": "2025-04-15"}
    for person in (org.rep_a, org.rep_b, org.manager_east):  # out of scope: 404, page and API
        assert api_client_for(person).post(f"/api/v1/deals/{other.pk}/cancel/", body, format="json").status_code == 404
        assert client_for(person).post(reverse("pipeline:deal_cancel", args=[other.pk]), body).status_code == 404
    # Finance reads an open deal but changes nothing of it.
    assert api_client_for(org.finance).post(
        f"/api/v1/deals/{deals['open'].pk}/cancel/", body, format="json").status_code == 403  # fmt: skip
    page = client_for(org.finance).get(reverse("pipeline:deal_detail", args=[deals["open"].pk])).content.decode()
    assert 'data-testid="cancel-form"' not in page and 'data-testid="close-lost-form"' not in page
    assert Deal.objects.get(pk=other.pk).cancelled_on is None
    response = api_client_for(org.ops).post(f"/api/v1/deals/{other.pk}/cancel/", body, format="json")
    assert response.status_code == 200


def test_a_pay_relevant_change_queues_the_recompute_back_to_the_close(
    org, deals, monkeypatch, django_capture_on_commit_callbacks
):
    queued: list[dict] = []
    monkeypatch.setattr("incentives.tasks.queue_recompute", lambda **kwargs: queued.append(kwargs))
    with django_capture_on_commit_callbacks(execute=True):
        services.deal_move_stage(actor=org.rep_a, deal=deals["won"], stage=default_stages()["Proposal"], reason="x")
    assert queued and queued[0]["since"] == CLOSED and org.rep_a.pk in queued[0]["person_ids"]
    assert Deal.objects.get(pk=deals["won"].pk).amount == Decimal("10000.00")


def test_no_deal_is_won_into_a_locked_period_but_by_finance(api_client_for, org, deals):
    """Creating a won deal, or winning an open one, with a close date in a locked period would add to what the
    period paid: refused on the API and in the service, naming the deal and the period."""
    lock(org, "2025-Q1")
    stages = default_stages()
    rep = api_client_for(org.rep_a)
    before = Deal.objects.count()
    created = rep.post("/api/v1/deals/", {"name": "Late win", "owner": org.rep_a.pk, "stage": stages["Closed Won"].pk,
                                          "amount": "500000", "close_date": "2025-02-15"}, format="json")  # fmt: skip
    assert created.status_code == 400, created.content
    assert ("Late win would be won on its close date 15 Feb 2025, in 2025-Q1, which is locked: move its close date "
            "into an open period first. It can change once finance reopens 2025-Q1.") in str(created.json())  # fmt: skip
    assert Deal.objects.count() == before

    services.deal_update(actor=org.rep_a, deal=deals["open"], close_date=CLOSED)  # an open deal may sit there
    with pytest.raises(DomainError, match="Alpha renewal would be won on its close date 10 Feb 2025, in 2025-Q1"):
        services.deal_move_stage(actor=org.rep_a, deal=deals["open"], stage=stages["Closed Won"])
    assert Deal.objects.get(pk=deals["open"].pk).status == "open"
    # Dated in an open period, it is won as usual; finance may win it in the locked one.
    services.deal_update(actor=org.rep_a, deal=deals["open"], close_date=CANCELLED)
    assert services.deal_move_stage(actor=org.rep_a, deal=deals["open"], stage=stages["Closed Won"]).status == "won"
    late = services.deal_create(actor=org.finance, name="Booked late", owner=org.rep_a, stage=stages["Closed Won"],
                                amount="100", close_date=CLOSED)  # fmt: skip
    assert late.status == "won"


def test_a_deal_cancelled_in_a_locked_period_keeps_what_its_cancellation_took_back(api_client_for, org, deals):
    """Its clawback was paid in the cancellation's period: re-pricing or re-splitting the deal would change it."""
    won = deals["won"]
    amount = Deal.objects.get(pk=won.pk).amount
    services.deal_cancel(actor=org.rep_a, deal=won, on=CANCELLED, reason="withdrew")
    lock(org, "2025-Q2")
    rep = api_client_for(org.rep_a)
    response = rep.patch(f"/api/v1/deals/{won.pk}/", {"amount": "1.00"}, format="json")
    assert response.status_code == 400
    assert ("Bravo expansion was cancelled in 2025-Q2, which is locked: its amount no longer changes. It can change "
            "once finance reopens 2025-Q2.") in str(response.json())  # fmt: skip
    with pytest.raises(DomainError, match="was cancelled in 2025-Q2, which is locked: its splits no longer change"):
        services.deal_set_splits(actor=org.rep_a, deal=won, splits=[
            services.SplitSpec(org.rep_a, Decimal(100)), services.SplitSpec(org.rep_a, Decimal(100), True)])  # fmt: skip
    won.refresh_from_db()
    assert (won.amount, won.splits.count()) == (amount, 0) and amount != Decimal("1.00")
