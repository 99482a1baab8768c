"""Calls and adjustments as written: the bounds of their numbers and notes, the periods closed for them, who may
adjust whom at the moment of writing, and the audit history of each change. Pages and API alike (roles.md: the
same rule, the same words, the same status on every surface)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from freezegun import freeze_time

from forecasting import math as fm
from forecasting import selectors, services
from forecasting.models import ForecastAdjustment, ForecastSubmission, Rollup, RollupSnapshot
from incentives import services as incentives
from salesops.api import DomainError, Forbidden
from salesops.org import services as org_services
from salesops.org.models import AuditEvent, User
from tests.forecasting.conftest import TODAY
from tests.race import poll_until

pytestmark = pytest.mark.django_db
API = "/api/v1/forecasting"
D = Decimal


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _audited(entity: str) -> list[dict[str, list[str | None]]]:
    return [e.changes for e in AuditEvent.objects.filter(entity=entity).order_by("id")]


# ------------------------------------------------------------------------------------------------ numbers
def test_a_forecast_number_of_a_trillion_or_more_is_refused_on_every_surface(org, q4, client_for, api_client_for):
    """The API took 99,999,999,999,999.99 (it fits the call's own column); the manager's rolled-up call then
    overflowed the rollup's, and every refresh of the period failed (the nightly snapshot with it)."""
    too_much = {"period": "2026-Q4", "commit": "1000000000000", "best_case": "99999999999999.99"}
    answer = api_client_for(org.rep_a).post(f"{API}/calls/", too_much)
    assert answer.status_code == 400
    assert answer.json()["commit"] == [services.CALL_RULE] and answer.json()["best_case"] == [services.CALL_RULE]
    page = client_for(org.rep_a).post("/forecasting/calls/", too_much, follow=True)
    assert _messages(page) == [f"{services.CALL_RULE}; {services.CALL_RULE}"]
    adjusted = api_client_for(org.manager_east).post(f"{API}/adjustments/", {**too_much, "person": org.rep_a.pk,
                                                                              "note": "typo"})  # fmt: skip
    assert adjusted.status_code == 400
    with pytest.raises(DomainError, match="below 1,000,000,000,000"):
        services.forecast_submit(actor=org.rep_a, period="2026-Q4", commit="1e20", best_case="1e20")
    assert not ForecastSubmission.objects.exists() and not ForecastAdjustment.objects.exists()

    largest = {"period": "2026-Q4", "commit": "999999999999.99", "best_case": "999999999999.99"}
    assert api_client_for(org.rep_a).post(f"{API}/calls/", largest).status_code == 201
    services.rollup_refresh(period="2026-Q4")  # the largest call still adds up within the rollup's columns
    east = Rollup.objects.get(person=org.manager_east, period="2026-Q4")
    assert east.call_commit == D("999999999999.99") + D("1000.00") + D("7000.00")  # + own won + rep_b's rollup


def test_a_manager_of_101_near_trillion_calls_refreshes_snapshots_and_reads_back(org, q4, client_for, api_client_for):
    """Each call is below a trillion, but a manager's rollup adds them all: 101 calls of 999,999,999,999.99 are
    100,999,999,999,998.99, past the 14 digits before the cents the rollup columns held, so the refresh was a
    500 and the nightly snapshot failed. The sums hold it, to the cent, in the rollup, the snapshot, the grid
    and the trend (page and API), and up the tree to the director."""
    largest = D("999999999999.99")
    reps = [User.objects.create(username=f"big{i}", manager=org.manager_east, is_rep=True) for i in range(99)]
    for rep in [org.rep_a, org.rep_b, *reps]:  # 101 reports of manager_east
        services.forecast_submit(actor=rep, period="2026-Q4", commit=largest, best_case=largest)
    services.forecast_submit(actor=org.rep_c, period="2026-Q4", commit=largest, best_case=largest)
    services.snapshot_take(day=TODAY)  # refreshes the period's rollups first, as the nightly job does
    calls = 101 * largest
    assert calls == D("100999999999998.99")
    east = Rollup.objects.get(person=org.manager_east, period="2026-Q4")
    assert (east.call_commit, east.call_best_case) == (calls + D("1000.00"), calls + D("1000.00"))  # + own won
    director = Rollup.objects.get(person=org.director, period="2026-Q4")
    assert director.call_commit == calls + D("1000.00") + largest
    snap = RollupSnapshot.objects.get(person_id=org.manager_east.pk, period="2026-Q4", snapshot_date=TODAY)
    assert snap.call_commit == calls + D("1000.00")
    manager = api_client_for(org.manager_east)
    grid = manager.get(f"{API}/grid/", {"period": "2026-Q4"})
    assert grid.status_code == 200
    row = next(r for r in grid.json()["rows"] if r["person"] == org.manager_east.pk)
    assert row["rolled_up_call"] == {"commit": "101000000000998.99", "best_case": "101000000000998.99"}
    trend = manager.get(f"{API}/trend/", {"period": "2026-Q4"})
    assert trend.status_code == 200 and trend.json()[-1]["call_commit"] == "101000000000998.99"
    page = client_for(org.manager_east).get("/forecasting/", {"period": "2026-Q4"})
    assert page.status_code == 200 and "101,000,000,000,999" in page.content.decode()


def test_the_rollup_sums_hold_the_largest_sum_of_their_parts(org, client_for, api_client_for):
    """A sum's parts are rows with bigint ids (fewer than 10^19 deal credits, calls or people), each below 10^12:
    every sum is below 10^32, which the rollup and its snapshot store, and the arithmetic adds, to the cent."""
    widest = D("99999999999999999999999999999999.99")  # 10^32 − 0.01
    rows = fm.rollup_tree(parents={1: None, 2: 1, 3: 1}, quotas={},
                          own={2: fm.Own(closed=D("99999999999999999999999999999999.97")), 3: fm.Own(closed=D("0.01")),
                               1: fm.Own(closed=D("0.01"))})  # fmt: skip
    assert fm.money(rows[1].closed) == widest and fm.money(rows[1].call_commit) == widest
    Rollup.objects.create(person=org.director, period="2026-Q4", closed=widest, call_commit=widest, quota=widest)
    services.rollup_snapshot_take(day=TODAY, periods=["2026-Q4"])
    snap = RollupSnapshot.objects.get(person_id=org.director.pk)
    assert (snap.closed, snap.call_commit, snap.quota) == (widest, widest, widest)
    trend = api_client_for(org.finance).get(f"{API}/trend/", {"period": "2026-Q4", "person": org.director.pk})
    assert trend.status_code == 200
    assert (trend.json()[0]["commit_forecast"], trend.json()[0]["quota"]) == (str(widest), str(widest))
    page = client_for(org.finance).get("/forecasting/trend/", {"period": "2026-Q4", "person": org.director.pk})
    assert page.status_code == 200 and "100,000,000,000,000,000,000,000,000,000,000<" in page.content.decode()


# -------------------------------------------------------------------------------------------------- notes
def test_a_note_over_2000_characters_is_refused_by_the_api_as_by_the_page(org, q4, client_for, api_client_for):
    long = {"period": "2026-Q4", "commit": "1", "best_case": "2", "note": "x" * 2001}
    answer = api_client_for(org.rep_a).post(f"{API}/calls/", long)
    assert answer.status_code == 400 and answer.json()["note"] == [services.NOTE_RULE]
    adjusted = api_client_for(org.manager_east).post(f"{API}/adjustments/", {**long, "person": org.rep_a.pk})
    assert adjusted.status_code == 400 and adjusted.json()["note"] == [services.NOTE_RULE]
    page = client_for(org.rep_a).post("/forecasting/calls/", long, follow=True)
    assert _messages(page) == [services.NOTE_RULE]
    with pytest.raises(DomainError, match="NUL"):
        services.forecast_submit(actor=org.rep_a, period="2026-Q4", commit="1", best_case="2", note="a\x00b")
    assert not ForecastSubmission.objects.exists() and not ForecastAdjustment.objects.exists()
    full = {**long, "note": "x" * 2000}
    assert api_client_for(org.rep_a).post(f"{API}/calls/", full).status_code == 201


def test_an_adjustment_without_a_note_is_answered_as_on_the_page(org, q4, client_for, api_client_for):
    """The API refused a blank note before asking who may adjust: finance heard 400 "This field may not be blank."
    where the page answers 403, and a manager heard other words than the page's."""
    blank = {"person": org.rep_a.pk, "period": "2026-Q4", "commit": "1", "best_case": "2", "note": " "}
    answer = api_client_for(org.manager_east).post(f"{API}/adjustments/", blank)
    assert answer.status_code == 400 and answer.json()["note"] == ["An adjustment needs a note saying why."]
    page = client_for(org.manager_east).post(f"/forecasting/people/{org.rep_a.pk}/adjust/", blank, follow=True)
    assert _messages(page) == ["An adjustment needs a note saying why."]
    assert api_client_for(org.finance).post(f"{API}/adjustments/", blank).status_code == 403
    assert client_for(org.finance).post(f"/forecasting/people/{org.rep_a.pk}/adjust/", blank).status_code == 403
    assert api_client_for(org.rep_b).post(f"{API}/adjustments/", blank).status_code == 404
    assert client_for(org.rep_b).post(f"/forecasting/people/{org.rep_a.pk}/adjust/", blank).status_code == 404
    assert not ForecastAdjustment.objects.exists()


# ------------------------------------------------------------------------------------------------ periods
def test_a_month_of_a_locked_quarter_is_closed_for_calls_and_adjustments(org, q4, client_for, api_client_for):
    """Finance locked 2026-Q4 early: its months' bookings are frozen with it, so December takes no call either."""
    incentives.period_lock(actor=org.finance, period=incentives.period_get_or_create("2026-Q4"), reason="early",
                           early=True)  # fmt: skip
    assert selectors.period_is_closed("2026-12") and selectors.period_is_closed("2026-Q4")
    call = {"period": "2026-12", "commit": "1", "best_case": "2", "note": "n"}
    answer = api_client_for(org.rep_a).post(f"{API}/calls/", call)
    assert answer.status_code == 400 and answer.json()["code"] == "period_closed"
    adjusted = api_client_for(org.manager_east).post(f"{API}/adjustments/", {**call, "person": org.rep_a.pk})
    assert adjusted.status_code == 400 and adjusted.json()["code"] == "period_closed"
    page = client_for(org.rep_a).post("/forecasting/calls/", call, follow=True)
    assert _messages(page) == ["2026-12 is closed: forecast calls for it no longer change."]
    grid = client_for(org.rep_a).get("/forecasting/", {"period": "2026-12"})
    assert grid.context["grid"].closed and not grid.context["may_submit"]
    assert not ForecastSubmission.objects.exists() and not ForecastAdjustment.objects.exists()


def test_a_locked_month_leaves_its_quarter_and_the_other_months_open(org, q4):
    incentives.period_lock(actor=org.finance, period=incentives.period_get_or_create("2026-10"), reason="paid")
    assert selectors.period_is_closed("2026-10")
    assert not selectors.period_is_closed("2026-11") and not selectors.period_is_closed("2026-Q4")


def test_a_period_typed_with_spaces_is_stored_as_its_label(org, q4):
    """The label was checked with its spaces stripped but stored as given: the grid, which reads "2026-Q4", never
    found the call."""
    call = services.forecast_submit(actor=org.rep_a, period=" 2026-Q4 ", commit="28000", best_case="33000")
    assert call.period == "2026-Q4"
    rows = {r.person.username: r for r in selectors.grid(org.manager_east, org.manager_east, "2026-Q4").rows}
    assert rows["rep_a"].call is not None and rows["rep_a"].call.pk == call.pk


# -------------------------------------------------------------------------------------------------- audit
def test_a_new_call_is_audited_with_the_numbers_it_replaced(org, q4):
    services.forecast_submit(actor=org.rep_a, period="2026-Q4", commit="25000", best_case="31000")
    services.forecast_submit(actor=org.rep_a, period="2026-11", commit="9000", best_case="9500")  # another period
    services.forecast_submit(actor=org.rep_a, period="2026-Q4", commit="28000", best_case="33000")
    assert _audited("forecasting.forecastsubmission") == [
        {"commit": [None, "25000.00"], "best_case": [None, "31000.00"]},
        {"commit": [None, "9000.00"], "best_case": [None, "9500.00"]},
        {"commit": ["25000.00", "28000.00"], "best_case": ["31000.00", "33000.00"]},
    ]


@pytest.mark.django_db(transaction=True)
def test_two_adjustments_at_once_each_audit_the_numbers_they_replaced(org, q4, monkeypatch):
    """Both read the latest adjustment before either wrote, so both audit rows named the same old numbers and the
    history lost the step between them."""
    services.forecast_adjust(actor=org.manager_east, person=org.rep_a, period="2026-Q4", commit="100",
                             best_case="200", note="first")  # fmt: skip
    reads = [0]
    counting = threading.Lock()
    read = selectors.latest_adjustments

    def read_then_wait(*args, **kwargs):
        found = read(*args, **kwargs)
        with counting:
            reads[0] += 1

        # Hold this transaction open until the other one has read too, or waits on a lock (once the writes of one
        # person queue, it cannot read before this one commits). Counted in polls, not by the clock: under
        # faketime a timed wait may never end.
        def both_read() -> bool:
            with counting:
                return reads[0] >= 2

        poll_until(both_read)
        return found

    monkeypatch.setattr(selectors, "latest_adjustments", read_then_wait)
    errors: list[BaseException] = []

    def adjust(commit: str) -> None:
        try:
            services.forecast_adjust(actor=org.manager_east, person=User.objects.get(pk=org.rep_a.pk),
                                     period="2026-Q4", commit=commit, best_case="900", note=f"to {commit}")  # fmt: skip
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=adjust, args=(commit,)) for commit in ("300", "400")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    steps = [changes["commit"] for changes in _audited("forecasting.forecastadjustment")]
    assert steps[0] == [None, "100.00"]
    # Whichever went first replaced 100 and the other replaced it: a chain, each old number the one before.
    assert [old for old, _ in steps[1:]] == ["100.00", steps[1][1]]


# -------------------------------------------------------------------------------------------- who adjusts
def test_no_adjustment_of_someone_moved_to_another_manager_meanwhile(org, q4):
    """The page or the API loaded rep_a under East; sales ops moved them to West before the adjustment was
    written. It was stored and audited as East's, and would count again were rep_a ever moved back."""
    loaded_before = User.objects.get(pk=org.rep_a.pk)
    org_services.person_update(actor=org.ops, person=User.objects.get(pk=org.rep_a.pk), manager=org.manager_west,
                               reason="moved to West")  # fmt: skip
    with pytest.raises(Forbidden, match="direct reports"):
        services.forecast_adjust(actor=org.manager_east, person=loaded_before, period="2026-Q4", commit="1",
                                 best_case="2", note="haircut")  # fmt: skip
    assert not ForecastAdjustment.objects.exists()
    assert not AuditEvent.objects.filter(entity="forecasting.forecastadjustment").exists()


def test_a_deactivated_report_can_be_adjusted_so_their_last_call_stops_counting(org, q4, api_client_for):
    """A leaver stays under their manager (their history does) and their last call keeps counting in the
    manager's rolled-up call until the manager adjusts it."""
    services.forecast_submit(actor=org.rep_a, period="2026-Q4", commit="50000", best_case="60000")
    org_services.person_update(actor=org.ops, person=User.objects.get(pk=org.rep_a.pk), is_active=False)
    answer = api_client_for(org.manager_east).post(f"{API}/adjustments/", {
        "person": org.rep_a.pk, "period": "2026-Q4", "commit": "0", "best_case": "0", "note": "left the company"})  # fmt: skip
    assert answer.status_code == 201
    rows = {r.person.username: r for r in selectors.grid(org.manager_east, org.manager_east, "2026-Q4").rows}
    assert rows["mgr_east"].call_commit == D("8000.00")  # own won 1,000 + rep_a adjusted to 0 + rep_b's 7,000


def test_a_manager_who_is_also_a_rep_calls_their_own_number_and_adjusts_only_reports(
    org, q4, client_for, api_client_for
):
    User.objects.filter(pk=org.manager_east.pk).update(is_rep=True)
    manager = User.objects.get(pk=org.manager_east.pk)
    body = {"period": "2026-Q4", "commit": "40000", "best_case": "45000", "note": "mine"}
    assert api_client_for(manager).post(f"{API}/calls/", body).status_code == 201
    own = {**body, "person": manager.pk}
    answer = api_client_for(manager).post(f"{API}/adjustments/", own)
    assert answer.status_code == 403 and "direct reports" in answer.json()["detail"]
    assert client_for(manager).post(f"/forecasting/people/{manager.pk}/adjust/", own).status_code == 403
    assert not ForecastAdjustment.objects.exists()


@pytest.mark.parametrize(
    ("utc_moment", "open_for_calls"),
    # 2026-12-31 23:30 in Los Angeles (UTC−8) is 2027-01-01 07:30 UTC; 00:30 on 1 January there is 08:30 UTC.
    [("2027-01-01 07:30:00", True), ("2027-01-01 08:30:00", False)],
)
def test_the_last_evening_of_a_quarter_in_company_time_still_takes_calls(org, settings, utc_moment, open_for_calls):
    """forecasting.md: nobody submits for a closed period; kpis.md: dates are the company's. At 23:30 company time
    on the quarter's last day the quarter is still open (in UTC it is already the next year); half past midnight
    company time it is closed."""
    settings.TIME_ZONE = "America/Los_Angeles"
    with freeze_time(utc_moment):
        assert selectors.period_is_closed("2026-Q4") is not open_for_calls
        assert selectors.period_is_closed("2026-12") is not open_for_calls
        if open_for_calls:
            call = services.forecast_submit(actor=org.rep_a, period="2026-Q4", commit="100", best_case="150",
                                            note="last evening")  # fmt: skip
            adjusted = services.forecast_adjust(actor=org.manager_east, person=org.rep_a, period="2026-Q4",
                                                commit="90", best_case="140", note="haircut")  # fmt: skip
            assert (call.commit, adjusted.commit) == (D("100.00"), D("90.00"))
        else:
            with pytest.raises(DomainError, match="2026-Q4 is closed"):
                services.forecast_submit(actor=org.rep_a, period="2026-Q4", commit="100", best_case="150", note="late")
            with pytest.raises(DomainError, match="2026-Q4 is closed"):
                services.forecast_adjust(actor=org.manager_east, person=org.rep_a, period="2026-Q4", commit="90",
                                         best_case="140", note="late")  # fmt: skip
            assert not ForecastSubmission.objects.exists() and not ForecastAdjustment.objects.exists()
