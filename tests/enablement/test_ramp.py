"""Ramp to productivity on a hand-built cohort (docs/enablement-ramp.md): four reps hired in 2026-Q1 with known
quotas and won deals, the clock frozen on 15 Jul 2026 (January to June are the completed months).

    rep      start        manager       quota (full, each quarter)   ramp
    rep_a    10 Jan 2026  manager_east  30,000 (10,000 a month)       25 %, 50 %, 75 %, then 100 %
    rep_b     3 Feb 2026  manager_east  30,000                        none
    rep_c    20 Mar 2026  manager_west  30,000                        none
    rep_d    25 Jan 2026  manager_west  30,000                        none

Won deals (credited bookings by calendar month):
    rep_a  Jan 5,000 · Feb 2,500 · Apr 8,000 · May 12,000 · Jul 9,000 (July is not over: left out)
    rep_b  Jan 4,000 (before the start: not month 1, not a first deal) · Feb 10 Feb 2,000 · Jun 10,000
    rep_c  25 Mar a 10,000 deal owned by someone else, split 60 % to rep_c (6,000): the first deal is a split
    rep_d  May 3,000

attainment_1: a 0.5, b 0.2, c 0.6, d 0 → sorted 0, 0.2, 0.5, 0.6 → median (0.2 + 0.5) / 2 = 0.35 (n = 4)
attainment_5: a (May) 1.2, b (Jun) 1.0, d (May) 0.3; c's month 5 is July, not over → median 1.0 (n = 3)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

# Every URL's module (the API loads pandas) imported before a clock is frozen: freezegun patches what is loaded
# while it is active.
import salesops.urls  # noqa: F401
from enablement.models import RampPerson
from enablement.selectors import ramp as selectors
from enablement.services import ramp as ramp_services
from incentives import services as pay
from pipeline import services as pipeline_services
from pipeline.models import Deal, DealSplit
from salesops.org.models import User
from tests.factories import DealFactory, UserFactory, default_stages

pytestmark = pytest.mark.django_db

TODAY = "2026-07-15 12:00:00"
D = Decimal


def _won(owner: User, amount: str, close: dt.date, **extra: Any) -> Any:
    return DealFactory.create(owner=owner, stage=default_stages()["Closed Won"], amount=D(amount), close_date=close,
                              created_date=close - dt.timedelta(days=20), **extra)  # fmt: skip


@pytest.fixture(params=["maintained", "live"])
def cohort(org: Any, request: Any) -> dict[str, User]:
    """The cohort above, read from enablement's maintained ramp rows (refreshed once the data is in) or live from
    the deals (no rows: new hires, or deals changed since the last refresh); every figure is the same."""
    rep_d = UserFactory.create(username="rep_d", manager=org.manager_west, region=org.rep_c.region,
                               team=org.manager_west.team)  # fmt: skip
    reps = {"a": org.rep_a, "b": org.rep_b, "c": org.rep_c, "d": rep_d}
    starts = {"a": dt.date(2026, 1, 10), "b": dt.date(2026, 2, 3), "c": dt.date(2026, 3, 20), "d": dt.date(2026, 1, 25)}
    for key, rep in reps.items():
        rep.start_date = starts[key]
        rep.save(update_fields=["start_date"])
    ramp = pay.ramp_save(actor=org.ops, name="New hire, 3 months", shares=["0.25", "0.5", "0.75"])
    for label in ("2026-Q1", "2026-Q2", "2026-Q3"):
        period = pay.period_get_or_create(label)
        for key, rep in reps.items():
            pay.quota_set(actor=org.ops, person=rep, period=period, amount=30000, ramp=ramp if key == "a" else None)
    a, b, c, d = reps["a"], reps["b"], reps["c"], reps["d"]
    _won(a, "5000", dt.date(2026, 1, 20))
    _won(a, "2500", dt.date(2026, 2, 14))
    _won(a, "8000", dt.date(2026, 4, 2))
    _won(a, "12000", dt.date(2026, 5, 30))
    _won(a, "9000", dt.date(2026, 7, 10))
    _won(b, "4000", dt.date(2026, 1, 20))
    _won(b, "2000", dt.date(2026, 2, 10))
    _won(b, "10000", dt.date(2026, 6, 3))
    shared = _won(org.director, "10000", dt.date(2026, 3, 25))
    DealSplit.objects.create(deal=shared, person=c, percent=D(60))
    DealSplit.objects.create(deal=shared, person=org.director, percent=D(40))
    _won(d, "3000", dt.date(2026, 5, 5))
    if request.param == "maintained":
        assert ramp_services.refresh(today=dt.date(2026, 7, 15)) == 4
    return reps


def _overview(user: User, **kwargs: Any) -> selectors.Overview:
    return selectors.overview(user, today=dt.date(2026, 7, 15), **kwargs)


@freeze_time(TODAY)
def test_the_cohort_median_equals_the_hand_calculation(org: Any, cohort: dict[str, User]) -> None:
    found = _overview(org.ops)
    q1 = next(c for c in found.cohorts if c.label == "2026-Q1")
    assert q1.n == 4
    assert (q1.points[0].median, q1.points[0].n) == (D("0.35"), 4)  # an even count: mean of the two middle
    assert (q1.points[4].median, q1.points[4].n) == (D("1.0"), 3)  # an odd count: the middle one
    # Month 6: a (Jun) 0 and d (Jun) 0; b's month 6 is July, c's too → median 0 over n = 2.
    assert (q1.points[5].median, q1.points[5].n) == (D(0), 2)
    assert q1.points[6].n == 0 and q1.points[6].median is None  # nobody has a completed month 7
    # Days to first deal: a 10 (20 Jan), b 7 (10 Feb), c 5 (25 Mar, a split), d 100 (5 May) → median (7+10)/2.
    assert (q1.median_days_to_first_deal, q1.with_first_deal) == (D("8.5"), 4)
    # Full productivity: a month 5 (May 120 %), b month 5 (Jun 100 %); c and d never → median 5 over 2.
    assert (q1.median_months_to_full, q1.at_full) == (D(5), 2)


@freeze_time(TODAY)
def test_attainment_and_expected_of_a_ramped_hire(org: Any, cohort: dict[str, User]) -> None:
    ramp = selectors.person_ramp(org.ops, cohort["a"].pk, today=dt.date(2026, 7, 15)).ramp
    assert ramp is not None
    got = [(p.k, p.month, p.bookings, p.full_quota, p.attainment, p.expected) for p in ramp.months]
    assert got == [
        (1, dt.date(2026, 1, 1), D("5000.00"), D("10000.00"), D("0.5000"), D("0.25")),
        (2, dt.date(2026, 2, 1), D("2500.00"), D("10000.00"), D("0.2500"), D("0.5")),
        (3, dt.date(2026, 3, 1), D("0"), D("10000.00"), D("0.0000"), D("0.75")),
        (4, dt.date(2026, 4, 1), D("8000.00"), D("10000.00"), D("0.8000"), D(1)),
        (5, dt.date(2026, 5, 1), D("12000.00"), D("10000.00"), D("1.2000"), D(1)),
        (6, dt.date(2026, 6, 1), D("0"), D("10000.00"), D("0.0000"), D(1)),
    ]
    assert ramp.months[0].against_ramp == D("0.25")  # ahead of the ramp in month 1
    assert ramp.months[1].against_ramp == D("-0.25")  # behind it in month 2
    assert ramp.cohort == "2026-Q1"
    assert ramp.months_to_full == 5


@freeze_time(TODAY)
def test_time_to_first_deal_counts_a_split_credit(org: Any, cohort: dict[str, User]) -> None:
    ramps = {r.person.person_id: r.ramp for r in _overview(org.ops).reps}
    assert ramps[cohort["c"].pk].days_to_first_deal == 5  # 20 → 25 Mar, as a 60 % split holder of another's deal
    assert ramps[cohort["c"].pk].months[0].bookings == D("6000.00")
    assert ramps[cohort["b"].pk].days_to_first_deal == 7  # the January deal was before the start
    assert ramps[cohort["d"].pk].days_to_first_deal == 100  # 25 Jan → 5 May


@freeze_time(TODAY)
def test_time_to_full_productivity(org: Any, cohort: dict[str, User]) -> None:
    ramps = {r.person.person_id: r.ramp for r in _overview(org.ops).reps}
    assert ramps[cohort["a"].pk].months_to_full == 5
    assert ramps[cohort["b"].pk].months_to_full == 5  # exactly 100 % counts
    assert ramps[cohort["c"].pk].months_to_full is None
    assert ramps[cohort["d"].pk].months_to_full is None


def test_the_incomplete_current_month_is_left_out(org: Any, cohort: dict[str, User]) -> None:
    for moment, months in (("2026-07-01 08:00", 6), ("2026-07-31 23:00", 6), ("2026-08-01 08:00", 7)):
        with freeze_time(moment):
            today = dt.date.fromisoformat(moment[:10])
            ramp = selectors.person_ramp(org.ops, cohort["a"].pk, today=today).ramp
            assert ramp is not None and ramp.tenure_months == months, moment
    with freeze_time("2026-08-01 08:00"):
        ramp = selectors.person_ramp(org.ops, cohort["a"].pk, today=dt.date(2026, 8, 1)).ramp
        assert ramp is not None and ramp.months[6].attainment == D("0.9000")  # July's 9,000 once July is over


@freeze_time(TODAY)
def test_a_month_without_a_quota_has_no_attainment(org: Any, cohort: dict[str, User]) -> None:
    late = UserFactory.create(username="rep_late", manager=org.manager_east, start_date=dt.date(2025, 12, 1))
    pay.quota_set(actor=org.ops, person=late, period=pay.period_get_or_create("2026-Q1"), amount=60000)
    ramp = selectors.person_ramp(org.ops, late.pk, today=dt.date(2026, 7, 15)).ramp
    assert ramp is not None
    assert ramp.months[0].full_quota is None and ramp.months[0].attainment is None  # December: no quota
    assert ramp.months[1].full_quota == D("20000.00")  # 60,000 over the quarter's three months
    assert ramp.months[4].attainment is None  # April: no Q2 quota


# ------------------------------------------------------------------------------------------------- scope
@freeze_time(TODAY)
def test_a_rep_sees_only_their_own_row_and_curve(org: Any, cohort: dict[str, User], api_client_for: Any) -> None:
    body = api_client_for(cohort["a"]).get("/api/v1/enablement/ramp/").json()
    assert [r["person"] for r in body["reps"]] == [cohort["a"].pk]
    assert [(c["cohort"], c["n"]) for c in body["cohorts"]] == [("2026-Q1", 1)]
    assert body["cohorts"][0]["points"][0]["median"] == "0.5000"  # their own month 1, nobody else's
    assert api_client_for(cohort["a"]).get(f"/api/v1/enablement/ramp/{cohort['b'].pk}/").status_code == 404


@freeze_time(TODAY)
def test_a_manager_sees_their_subtree(org: Any, cohort: dict[str, User], client_for: Any) -> None:
    found = _overview(org.manager_east)
    assert {r.person.person_id for r in found.reps} == {cohort["a"].pk, cohort["b"].pk}
    # Their cohort's month 1 over a (0.5) and b (0.2) only.
    assert found.cohorts[0].points[0].median == D("0.35") and found.cohorts[0].points[0].n == 2
    client = client_for(org.manager_east)
    assert client.get(reverse("enablement:ramp_person", args=[cohort["b"].pk])).status_code == 200
    missing = client.get(reverse("enablement:ramp_person", args=[987654321]))
    outside = client.get(reverse("enablement:ramp_person", args=[cohort["c"].pk]))
    assert missing.status_code == outside.status_code == 404
    api = client.get(f"/api/v1/enablement/ramp/{cohort['c'].pk}/")
    assert api.status_code == 404


@freeze_time(TODAY)
def test_sales_ops_and_finance_see_everyone(org: Any, cohort: dict[str, User], api_client_for: Any) -> None:
    for user in (org.ops, org.finance):
        body = api_client_for(user).get("/api/v1/enablement/ramp/?years=1").json()
        assert {r["person"] for r in body["reps"]} == {r.pk for r in cohort.values()}
        assert body["cohorts"][0]["points"][0] == {"k": 1, "median": "0.3500", "n": 4}
    detail = api_client_for(org.finance).get(f"/api/v1/enablement/ramp/{cohort['a'].pk}/").json()
    assert detail["shares"] == ["0.25", "0.5", "0.75"]
    assert [m["attainment"] for m in detail["ramp"]["months"]][:2] == ["0.5000", "0.2500"]


@freeze_time(TODAY)
def test_the_page_shows_the_figures(org: Any, cohort: dict[str, User], client_for: Any) -> None:
    page = client_for(org.ops).get(reverse("enablement:ramp"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="ramp-chart"' in html and "Ramp expectation" in html
    assert "35.0 %" in html and "8.5" in html
    person = client_for(org.ops).get(reverse("enablement:ramp_person", args=[cohort["a"].pk])).content.decode()
    assert "120.0 %" in person and "month 5" in person and "10 days" in person
    # A manager, in scope but not a rep, has a page without a ramp (not a 404).
    manager = client_for(org.ops).get(reverse("enablement:ramp_person", args=[org.manager_east.pk]))
    assert manager.status_code == 200 and b"No ramp to show" in manager.content


@freeze_time(TODAY)
def test_the_export_is_for_managers_finance_and_ops(org: Any, cohort: dict[str, User], client_for: Any) -> None:
    assert client_for(cohort["a"]).get(reverse("enablement:ramp") + "?export=csv").status_code == 403
    answer = client_for(org.manager_west).get(reverse("enablement:ramp") + "?export=csv")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode().lstrip("\ufeff"))))
    assert sorted(r["person id"] for r in rows) == sorted(str(cohort[k].pk) for k in "cd")
    c = next(r for r in rows if r["person id"] == str(cohort["c"].pk))
    assert (c["attainment m1"], c["expected m1"], c["days to first deal"], c["cohort"]) == (
        "0.6000",
        "1.0000",  # every share of the export to 4 decimals (docs/formats.md)
        "5",
        "2026-Q1",
    )


@freeze_time(TODAY)
def test_years_out_of_range_is_a_bad_request(org: Any, api_client_for: Any, client_for: Any) -> None:
    assert api_client_for(org.ops).get("/api/v1/enablement/ramp/?years=9").status_code == 400
    assert api_client_for(org.ops).get("/api/v1/enablement/ramp/?years=x").status_code == 400
    assert client_for(org.ops).get(reverse("enablement:ramp") + "?years=9").status_code == 200  # the default


# ---------------------------------------------------------------------------------------------- freshness
def _reads_deals(user: User) -> bool:
    with CaptureQueriesContext(connection) as queries:
        _overview(user)
    return any("pipeline_deal" in q["sql"] for q in queries.captured_queries)


@freeze_time(TODAY)
def test_the_maintained_rows_spare_the_deals(org: Any, cohort: dict[str, User]) -> None:
    assert _reads_deals(org.ops) is not RampPerson.objects.exists()  # maintained: rows only; live: the deals


@freeze_time(TODAY)
def test_a_deal_change_refreshes_the_figures_through_the_event(
    org: Any, cohort: dict[str, User], django_capture_on_commit_callbacks: Any, celery_eager: None
) -> None:
    d = cohort["d"]
    ramp_services.refresh(today=dt.date(2026, 7, 15))  # (the live variant too: everyone's rows are there)
    assert not _reads_deals(org.ops)
    before = {r.person.person_id: r.ramp for r in _overview(org.ops).reps}[d.pk]
    assert before.months[4].attainment == D("0.3000")  # May: 3,000 of 10,000
    deal = Deal.objects.get(owner=d)
    with django_capture_on_commit_callbacks(execute=True):
        pipeline_services.deal_update(actor=org.ops, deal=deal, amount=D("12000"))
    # The event dropped d's rows and its queued refresh (run eagerly here) wrote them again, from the new amount.
    assert RampPerson.objects.filter(person_id=d.pk).exists()
    assert not _reads_deals(org.ops)
    after = {r.person.person_id: r.ramp for r in _overview(org.ops).reps}[d.pk]
    assert after.months[4].attainment == D("1.2000") and after.months_to_full == 5
    # And in between (the refresh not yet run), d is read live: never the old figure.
    ramp_services.forget([d.pk])
    assert _reads_deals(org.ops)
    assert {r.person.person_id: r.ramp for r in _overview(org.ops).reps}[d.pk].months[4].attainment == D("1.2000")


@freeze_time(TODAY)
def test_a_changed_start_date_is_read_live_until_the_refresh(org: Any, cohort: dict[str, User]) -> None:
    ramp_services.refresh(today=dt.date(2026, 7, 15))
    b = cohort["b"]
    b.start_date = dt.date(2026, 1, 5)  # now the 20 Jan deal is their first (15 days) and month 1's
    b.save(update_fields=["start_date"])
    ramp = {r.person.person_id: r.ramp for r in _overview(org.ops).reps}[b.pk]
    assert ramp.days_to_first_deal == 15 and ramp.months[0].bookings == D("4000.00")
    ramp_services.refresh(today=dt.date(2026, 7, 15))
    assert RampPerson.objects.get(person_id=b.pk).start == dt.date(2026, 1, 5)
    assert {r.person.person_id: r.ramp for r in _overview(org.ops).reps}[b.pk].days_to_first_deal == 15


@freeze_time(TODAY)
def test_the_page_names_its_scope_in_the_viewers_words(org: Any, cohort: dict[str, User], client_for: Any) -> None:
    """A rep read "your own hired since …", and "your team's reps" when their own start was out of the years
    chosen; a manager reads their team, sales ops every rep."""
    rep = client_for(cohort["a"])
    for url in (reverse("enablement:ramp"), reverse("enablement:ramp") + "?years=1"):
        text = rep.get(url).content.decode()
        assert "your own, when you were hired since" in text
        assert "your team" not in text and "your own hired" not in text
    manager = client_for(org.manager_east).get(reverse("enablement:ramp")).content.decode()
    assert "the reps of your team hired since" in manager
    ops = client_for(org.ops).get(reverse("enablement:ramp")).content.decode()
    assert "every rep hired since" in ops and "your" not in ops.split('data-testid="ramp-scope"')[1].split("</p>")[0]
