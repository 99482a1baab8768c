"""CRM adoption: the scorecard's parts against a hand count, the score as the mean of the parts that apply, weekly
active users from sign-in events (recorded by the real sign-in view and the daily session middleware), the
retention purge, the snapshot job's idempotence, a roll-out's adoption curve, and scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient

from enablement.engine import adoption as engine
from enablement.models import AdoptionSnapshot, Rollout
from enablement.selectors import adoption as selectors
from enablement.services import adoption as services
from pipeline.models import Activity, Deal
from salesops.api import DomainError, Forbidden
from salesops.org.models import SignInEvent
from salesops.org.sign_in_events import purge_old
from tests.factories import DealFactory, ManagerFactory, TeamFactory, UserFactory, default_stages

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 18, 12, 0, tzinfo=dt.UTC)  # a Wednesday
TODAY = NOW.date()
MONDAY = dt.date(2026, 11, 16)


def _deal(owner, stage, *, updated, last_activity, **fields):
    deal = DealFactory.create(owner=owner, stage=default_stages()[stage], **fields)
    Deal.objects.filter(pk=deal.pk).update(updated_at=updated, last_activity_at=last_activity)
    return deal


def _activity(owner, at):
    Activity.objects.create(kind="call", subject="call", owner=owner, occurred_at=at)


def _hand_counted_rep():
    """Five open deals of which we know exactly which pass each rule (comments), plus deals and activities that
    must not count."""
    rep = UserFactory.create()
    day = dt.timedelta(days=1)
    # D1 Discovery (account, amount) both filled; next step fresh; close date ahead; activity 3 days ago.
    _deal(rep, "Discovery", next_step="Call", close_date=TODAY + 10 * day, updated=NOW - 2 * day,
          last_activity=NOW - 3 * day)  # fmt: skip
    # D2 Discovery without an amount; no next step; close date yesterday; never any activity.
    _deal(rep, "Discovery", amount=None, next_step="", close_date=TODAY - day, updated=NOW, last_activity=None)
    # D3 Qualification (account) without an account; next step untouched 20 days; closes today; activity 15 days.
    _deal(rep, "Qualification", account=None, next_step="Demo", close_date=TODAY, updated=NOW - 20 * day,
          last_activity=NOW - 15 * day)  # fmt: skip
    # D4 Prospecting (no criteria); next step 13 days old; no close date; activity 13 days ago.
    _deal(rep, "Prospecting", next_step="Send quote", close_date=None, updated=NOW - 13 * day,
          last_activity=NOW - 13 * day)  # fmt: skip
    # D5 Negotiation (account, amount, close date, contact) without a contact; fresh; ahead; activity 14 days + 1 h.
    _deal(rep, "Negotiation", contact=None, next_step="Sign", close_date=TODAY + 30 * day, updated=NOW,
          last_activity=NOW - 14 * day - dt.timedelta(hours=1))  # fmt: skip
    # Not open, or someone else's: left out.
    _deal(rep, "Closed Won", next_step="", close_date=TODAY - day, updated=NOW, last_activity=None)
    _deal(UserFactory.create(), "Prospecting", next_step="x", updated=NOW, last_activity=NOW)
    # Activities: two in the last 7 days; one 8 days ago and one tomorrow (a scheduled one) do not count.
    for at in (NOW - day, NOW - 6 * day, NOW - 8 * day, NOW + day):
        _activity(rep, at)
    _activity(UserFactory.create(), NOW)
    SignInEvent.objects.create(user=rep, via="password", at=dt.datetime(2026, 11, 16, 9, tzinfo=dt.UTC))
    return rep


def test_hygiene_parts_and_score_against_a_hand_count():
    rep = _hand_counted_rep()
    card = selectors.scorecard([rep.pk], today=TODAY, now=NOW)[rep.pk]
    assert card.figures["open_deals"] == 5
    assert (card.figures["criteria_complete"], card.figures["next_step_fresh"]) == (2, 3)  # D1 D4; D1 D4 D5
    assert (card.figures["close_date_current"], card.figures["recent_activity"]) == (3, 2)  # D1 D3 D5; D1 D4
    assert card.figures["activities"] == 2
    assert card.parts == {
        "active": Decimal("1.0000"),
        "activities_per_deal": Decimal("0.4000"),  # 2 activities / 5 open deals
        "criteria_complete": Decimal("0.4000"),
        "next_step_fresh": Decimal("0.6000"),
        "close_date_current": Decimal("0.6000"),
        "recent_activity": Decimal("0.4000"),
    }
    # (1 + 0.4 + 0.4 + 0.6 + 0.6 + 0.4) / 6 × 100 = 56.666… → 56.67
    assert card.score == Decimal("56.67")


def test_score_is_the_mean_of_the_parts_that_apply():
    # No open deals: only "active" applies; not signed in this week → 0.
    idle = UserFactory.create()
    SignInEvent.objects.create(user=idle, via="password", at=NOW - dt.timedelta(days=3))  # last week's Sunday
    card = selectors.scorecard([idle.pk], today=TODAY, now=NOW)[idle.pk]
    assert card.parts["active"] == 0 and card.parts["criteria_complete"] is None
    assert card.score == Decimal("0.00")
    assert engine.score_of([Decimal(1), None, Decimal("0.5")]) == Decimal("75.00")
    assert engine.score_of([None, None]) is None
    # More activities than open deals: the part is capped at 1, the figure keeps the ratio.
    busy = engine.rep_score(1, active=True, open_deals=2, criteria_complete=2, next_step_fresh=2,
                            close_date_current=2, recent_activity=2, activities=5)  # fmt: skip
    assert busy.parts["activities_per_deal"] == 1 and busy.figures["activities_per_deal"] == Decimal("2.50")
    assert busy.score == Decimal("100.00")


def test_weekly_active_users_from_sign_in_events():
    team = TeamFactory.create()
    ops = UserFactory.create(is_sales_ops=True, is_rep=False)
    a, b, c = (UserFactory.create(team=team) for _ in range(3))
    SignInEvent.objects.create(user=a, via="password", at=dt.datetime(2026, 11, 16, 0, 0, tzinfo=dt.UTC))
    SignInEvent.objects.create(user=a, via="session", at=dt.datetime(2026, 11, 17, 8, tzinfo=dt.UTC))
    SignInEvent.objects.create(user=b, via="token", at=dt.datetime(2026, 11, 18, 8, tzinfo=dt.UTC))
    SignInEvent.objects.create(user=c, via="password", at=dt.datetime(2026, 11, 15, 23, 59, tzinfo=dt.UTC))
    page = selectors.scorecard_page(ops, today=TODAY, now=NOW)
    row = next(t for t in page.teams if t.team_id == team.pk)
    assert (row.active, row.people) == (2, 3)  # a and b this week; c's Sunday sign-in was last week


def test_sign_in_events_from_the_real_sign_in_view_and_the_session():
    rep = UserFactory.create(username="signer")
    client = Client()
    login, page = reverse("login"), reverse("enablement:adoption")  # the URL conf loaded before time is frozen
    with freeze_time("2026-11-18 09:00:00"):
        answer = client.post(login, {"username": "signer", "password": "pw"})
        assert answer.status_code == 302
        assert list(SignInEvent.objects.filter(user=rep).values_list("via", flat=True)) == ["password"]
        assert client.get(page).status_code == 200
        assert SignInEvent.objects.filter(user=rep).count() == 1  # same day, same session: nothing more
    with freeze_time("2026-11-19 08:00:00"):
        assert client.get(page).status_code == 200
        client.get(page)
        vias = list(SignInEvent.objects.filter(user=rep).order_by("at").values_list("via", flat=True))
        assert vias == ["password", "session"]


@override_settings(SIGN_IN_EVENT_RETENTION_DAYS=400)
def test_retention_purge_keeps_recent_rows_and_deletes_old_ones():
    rep = UserFactory.create()
    old = SignInEvent.objects.create(user=rep, via="password", at=NOW - dt.timedelta(days=401))
    edge = SignInEvent.objects.create(user=rep, via="password", at=NOW - dt.timedelta(days=399))
    recent = SignInEvent.objects.create(user=rep, via="session", at=NOW - dt.timedelta(days=1))
    assert purge_old(now=NOW) == 1
    kept = set(SignInEvent.objects.filter(user=rep).values_list("pk", flat=True))
    assert kept == {edge.pk, recent.pk} and old.pk not in kept


def test_snapshot_job_is_idempotent_and_closes_last_week_on_mondays():
    rep = _hand_counted_rep()
    inactive = UserFactory.create(is_active=False)
    with freeze_time(NOW):
        first = services.snapshot_adoption(now=NOW)
        again = services.snapshot_adoption(now=NOW)
    assert first == again
    rows = AdoptionSnapshot.objects.filter(person=rep)
    assert list(rows.values_list("week", "score")) == [(MONDAY, Decimal("56.67"))]
    assert rows.get().parts["criteria_complete"] == "0.4000"
    assert not AdoptionSnapshot.objects.filter(person=inactive).exists()
    monday = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)
    services.snapshot_adoption(now=monday)
    services.snapshot_adoption(now=monday)
    weeks = list(AdoptionSnapshot.objects.filter(person=rep).values_list("week", flat=True))
    assert weeks == [MONDAY, dt.date(2026, 11, 23)]


def test_rollout_adoption_curve_against_a_hand_count():
    ops = UserFactory.create(is_sales_ops=True, is_rep=False)
    team = TeamFactory.create()
    a, b, c = (UserFactory.create(team=team) for _ in range(3))
    UserFactory.create()  # another team: not in the group
    go_live = dt.date(2026, 11, 4)  # a Wednesday: its week starts Monday 2 Nov
    rollout = services.rollout_create(actor=ops, name="Call logging", team=team.pk, go_live=go_live.isoformat(),
                                      metric="criteria_complete", threshold="0.5", target_share="0.6")  # fmt: skip
    weeks = [dt.date(2026, 10, 19), dt.date(2026, 10, 26), dt.date(2026, 11, 2), dt.date(2026, 11, 9)]
    values: dict[Any, list[str | None]] = {  # person → criteria_complete per week (None: no snapshot that week)
        a: ["0.2", "0.5", "0.9", "1"],
        b: ["0.1", "0.4", "0.5", "0.7"],
        c: [None, "0.3", "0.49", "0.5"],
    }
    for person, shares in values.items():
        for week, share in zip(weeks, shares, strict=True):
            if share is not None:
                AdoptionSnapshot.objects.create(person=person, week=week, parts={"criteria_complete": share})
    curve = selectors.rollout_curve(rollout, today=dt.date(2026, 11, 12))
    # From the week of go-live − 2 weeks (19 Oct) to this week (9 Nov); adopted = value >= 0.5.
    assert [(p.week, p.adopted, p.people) for p in curve] == [
        (weeks[0], 0, 3), (weeks[1], 1, 3), (weeks[2], 2, 3), (weeks[3], 3, 3)
    ]  # fmt: skip
    assert [p.share for p in curve] == [Decimal("0"), Decimal("0.3333"), Decimal("0.6667"), Decimal("1")]
    assert engine.adopted_from(curve) == weeks[2]  # first week with 2/3 >= 60 %


def test_rollouts_are_written_by_sales_ops_only():
    manager = ManagerFactory.create()
    with pytest.raises(Forbidden):
        services.rollout_create(actor=manager, name="X", go_live="2026-11-01", metric="score")
    assert not Rollout.objects.exists()


def _get(user, url):
    client = Client()
    client.force_login(user)
    return client.get(url)


def test_scope_rep_own_row_manager_subtree_ops_everyone():
    manager = ManagerFactory.create()
    mine = UserFactory.create(manager=manager)
    other = UserFactory.create()
    ops = UserFactory.create(is_sales_ops=True, is_rep=False)
    url = reverse("enablement:adoption")

    def rows(user):
        page = _get(user, url).content.decode()
        return {p.pk for p in (mine, other) if f'data-person="{p.pk}"' in page}

    assert rows(mine) == {mine.pk}
    assert rows(other) == {other.pk}
    assert rows(manager) == {mine.pk}
    assert rows(ops) == {mine.pk, other.pk}
    assert _get(manager, reverse("enablement:adoption_person", args=[other.pk])).status_code == 404
    assert _get(mine, reverse("enablement:adoption_person", args=[other.pk])).status_code == 404
    assert _get(manager, reverse("enablement:adoption_person", args=[mine.pk])).status_code == 200
    assert _get(ops, reverse("enablement:adoption_person", args=[other.pk])).status_code == 200


def test_rollout_pages_by_role():
    ops = UserFactory.create(is_sales_ops=True, is_rep=False)
    rep = UserFactory.create()
    manager = ManagerFactory.create()
    rollout = services.rollout_create(actor=ops, name="Mobile app", go_live="2026-11-01", metric="active")
    detail = reverse("enablement:rollout_detail", args=[rollout.pk])
    assert _get(rep, reverse("enablement:rollout_list")).status_code == 403
    assert _get(rep, detail).status_code == 403  # whatever the id (a missing one too)
    assert _get(rep, reverse("enablement:rollout_detail", args=[987654])).status_code == 403
    assert _get(manager, detail).status_code == 200
    assert _get(ops, detail).status_code == 200
    client = Client()
    client.force_login(manager)
    assert client.post(reverse("enablement:rollout_list"), {"name": "Y"}).status_code == 403
    client.force_login(ops)
    answer = client.post(reverse("enablement:rollout_list"), {"name": "Y", "go_live": "2026-12-01",
                                                               "metric": "score", "threshold": "60", "target_share": "0.8"})  # fmt: skip
    assert answer.status_code == 302
    assert Rollout.objects.get(name="Y").threshold == Decimal("0.6000")


def test_last_week_is_closed_once_on_monday(settings: Any) -> None:
    """The first Monday run closes last week; a later Monday run leaves the closed row as it was."""
    from enablement.models import AdoptionSnapshot
    from enablement.services.adoption import snapshot_adoption

    person = UserFactory.create()
    zone = timezone.get_current_timezone()
    monday = dt.date(2026, 11, 30)
    first = dt.datetime.combine(monday, dt.time(0, 30), tzinfo=zone)
    snapshot_adoption(now=first)
    row = AdoptionSnapshot.objects.get(person=person, week=monday - dt.timedelta(days=7))
    assert row.computed_at == first
    snapshot_adoption(now=first + dt.timedelta(hours=5))
    row.refresh_from_db()
    assert row.computed_at == first, "a closed week was rewritten by a later Monday run"
    assert AdoptionSnapshot.objects.get(person=person, week=monday).computed_at == first + dt.timedelta(hours=5)


def test_a_rollout_go_live_outside_the_date_rule_is_refused_and_the_role_comes_before_the_body():
    """A go-live in year 1 broke every roll-out page (two weeks before it is no date); the API answers a manager
    403 whatever the body holds."""
    ops = UserFactory.create(is_sales_ops=True, is_rep=False)
    with pytest.raises(DomainError, match="the go-live date 0001-01-03 is not a date between 1 Jan 1900"):
        services.rollout_create(actor=ops, name="Ancient", go_live="0001-01-03", metric="score")
    assert not Rollout.objects.exists()
    manager = ManagerFactory.create()
    client = APIClient()
    client.force_authenticate(manager)
    assert client.post("/api/v1/enablement/adoption/rollouts/", {"name": "x"}, format="json").status_code == 403
    assert _get(ops, reverse("enablement:rollout_list")).status_code == 200


def test_api_trend_and_a_persons_stored_weeks_with_the_pages_scope():
    """The scorecard's trend is the mean stored score per week of the reps in view (the page's chart); a person's
    history is their stored weeks; a person outside the scope answers 404, as a missing id does."""
    manager = ManagerFactory.create()
    first, second = UserFactory.create(manager=manager), UserFactory.create(manager=manager)
    lead = UserFactory.create(manager=manager, is_rep=False)  # in the scope, not a rep: not in the trend
    other = UserFactory.create()
    ops = UserFactory.create(is_sales_ops=True, is_rep=False)
    last = MONDAY - dt.timedelta(days=7)
    rows = {  # person → score per week (last week, this week)
        first: (Decimal("40.00"), Decimal("80.00")),
        second: (Decimal("60.00"), None),
        lead: (Decimal("99.00"), Decimal("99.00")),
        other: (Decimal("10.00"), Decimal("20.00")),
    }
    for person, scores in rows.items():
        for week, score in zip((last, MONDAY), scores, strict=True):
            AdoptionSnapshot.objects.create(person=person, week=week, score=score, computed_at=NOW,
                                            parts={"active": "1", "criteria_complete": None},
                                            figures={"open_deals": 0, "activities_per_deal": "0.50"})  # fmt: skip

    def api(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    def trend(user):
        with freeze_time(NOW):
            answer = api(user).get("/api/v1/enablement/adoption/scorecard/trend/")
        assert answer.status_code == 200
        weeks = answer.json()["weeks"]
        assert len(weeks) == selectors.TREND_WEEKS and weeks[-1]["week"] == MONDAY.isoformat()
        assert all(w["score"] is None and w["snapshots"] == 0 for w in weeks[:-2])
        return [(w["score"], w["snapshots"]) for w in weeks[-2:]]

    assert trend(manager) == [("50.00", 2), ("80.00", 2)]  # second's row this week has no score: counted, no mean
    assert trend(first) == [("40.00", 1), ("80.00", 1)]
    assert trend(ops) == [("36.67", 3), ("50.00", 3)]  # everyone's reps: 40, 60, 10 and 80, 20
    # The same figures as the page's chart: the trend of the scorecard's rep rows.
    with freeze_time(NOW):
        card = selectors.scorecard_summary(manager, today=TODAY, now=NOW)
    assert isinstance(card.reps, selectors.RepRows)
    assert selectors.scorecard_trend(manager, today=TODAY) == selectors.trend(card.reps.person_ids, today=TODAY)

    with freeze_time(NOW):
        answer = api(manager).get(f"/api/v1/enablement/adoption/scorecard/{first.pk}/history/")
        outside = api(manager).get(f"/api/v1/enablement/adoption/scorecard/{other.pk}/history/")
        missing = api(manager).get("/api/v1/enablement/adoption/scorecard/987654321/history/")
        own_only = api(first).get(f"/api/v1/enablement/adoption/scorecard/{second.pk}/history/")
        anonymous = APIClient().get(f"/api/v1/enablement/adoption/scorecard/{first.pk}/history/")
    assert answer.status_code == 200
    history = answer.json()
    assert history["person"] == first.pk
    assert [(w["week"], w["score"]) for w in history["weeks"]] == [(last.isoformat(), "40.00"),
                                                                   (MONDAY.isoformat(), "80.00")]  # fmt: skip
    assert history["weeks"][0]["parts"] == {"active": "1", "criteria_complete": None}
    assert history["weeks"][0]["figures"] == {"open_deals": 0, "activities_per_deal": "0.50"}
    assert [(w["score"], w["snapshots"]) for w in history["trend"][-3:]] == [(None, 0), ("40.00", 1), ("80.00", 1)]
    assert outside.status_code == missing.status_code == own_only.status_code == 404
    assert outside.json() == missing.json()
    assert anonymous.status_code == 401


def test_the_rollout_headline_is_the_last_full_week_and_this_week_reads_so_far():
    """Last week 2 of 2 reached the threshold, this week (begun Monday) 0 of 2 so far: the list's headline is the
    full week's 100.0 %, not a collapse to 0.0 %; this week is labelled "so far", read from its snapshot."""
    ops = UserFactory.create(is_sales_ops=True, is_rep=False)
    team = TeamFactory.create()
    people = [UserFactory.create(team=team) for _ in range(2)]
    last = MONDAY - dt.timedelta(days=7)
    for person in people:
        AdoptionSnapshot.objects.create(person=person, week=last, score=Decimal(90), computed_at=NOW,
                                        parts={"active": "1.0000"}, figures={})  # fmt: skip
        AdoptionSnapshot.objects.create(person=person, week=MONDAY, score=Decimal(0), computed_at=NOW,
                                        parts={"active": "0.0000"}, figures={})  # fmt: skip
    rollout = services.rollout_create(actor=ops, name="Sign in daily", go_live="2026-11-02", metric="active",
                                      team=team.pk, threshold="1", target_share="0.8")  # fmt: skip
    with freeze_time(NOW):
        page = _get(ops, reverse("enablement:rollout_list")).content.decode()
        detail = _get(ops, reverse("enablement:rollout_detail", args=[rollout.pk])).content.decode()
    assert "Adopted last full week" in page and "Adopted this week" not in page
    assert 'data-testid="rollout-last-week">100.0 %' in page
    assert 'data-testid="rollout-so-far">0.0 %' in page
    assert "(so far)" in detail and "this week's is the snapshot of" in detail
