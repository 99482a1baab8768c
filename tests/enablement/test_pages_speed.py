"""The enablement pages made fast for enterprise scale (issue 16, each page ≤ 300 ms): the company scorecard read
from this week's snapshot rows (the same numbers as live right after a snapshot, "as of" shown, live for people
without a row), rep rows 100 a page within the viewer's scope, team onboarding and a programme's enrolments paged."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from enablement.engine import adoption as engine
from enablement.models import AdoptionSnapshot, Enrolment, Programme, ProgrammeStep, StepProgress
from enablement.selectors import adoption as selectors
from enablement.selectors import programmes as programme_selectors
from enablement.services import adoption as services
from enablement.views import adoption as adoption_views
from enablement.views import programmes as programme_views
from salesops.org.models import SignInEvent
from tests.enablement.test_adoption import MONDAY, NOW, TODAY, _deal, _hand_counted_rep
from tests.factories import ManagerFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def _company():
    team = TeamFactory.create()
    ops = UserFactory.create(is_sales_ops=True, is_rep=False)
    hand = _hand_counted_rep()
    hand.team = team
    hand.save()
    quiet = UserFactory.create(team=team)  # no deals: only "active" applies
    busy = UserFactory.create()
    _deal(busy, "Prospecting", next_step="Call", close_date=TODAY, updated=NOW, last_activity=NOW)
    SignInEvent.objects.create(user=hand, via="password", at=NOW - dt.timedelta(hours=1))
    SignInEvent.objects.create(user=busy, via="token", at=NOW - dt.timedelta(days=1))
    return ops, team, (hand, quiet, busy)


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_snapshot_backed_scorecard_equals_live_right_after_a_snapshot():
    ops, _team, people = _company()
    services.snapshot_write(person_ids=[p.pk for p in people], week=MONDAY, now=NOW)
    live = selectors.scorecard_page(ops, today=TODAY, now=NOW, stored=False)
    stored = selectors.scorecard_page(ops, today=TODAY, now=NOW, stored=True)
    assert live.as_of is None
    assert stored.as_of == NOW
    assert stored.live == selectors.people_in_scope(ops).count() - 3  # ops (and the deals' makers): no row, live
    assert [(r.person_id, r.card.score, r.card.parts) for r in stored.reps] == [
        (r.person_id, r.card.score, r.card.parts) for r in live.reps
    ]
    hand = next(r for r in stored.reps if r.person_id == people[0].pk)
    assert hand.card.figures == next(r for r in live.reps if r.person_id == people[0].pk).card.figures
    assert stored.teams == live.teams
    assert stored.total == live.total


def test_large_scope_reads_the_snapshot_and_says_as_of(monkeypatch):
    ops, _team, (hand, quiet, busy) = _company()
    services.snapshot_write(person_ids=[hand.pk, quiet.pk, busy.pk], week=MONDAY, now=NOW)
    AdoptionSnapshot.objects.filter(person=hand, week=MONDAY).update(score=Decimal("12.34"))  # marks the stored row
    url = reverse("enablement:adoption")
    with freeze_time(NOW + dt.timedelta(minutes=30)):
        small = _client(ops).get(url).content.decode()
        assert 'data-testid="adoption-as-of"' not in small  # 4 people ≤ SNAPSHOT_SCOPE: live
        assert "12.34" not in small
        monkeypatch.setattr(selectors, "SNAPSHOT_SCOPE", 2)
        large = _client(ops).get(url).content.decode()
    assert 'data-testid="adoption-as-of"' in large
    assert "12.34" in large  # the stored row, not a live computation
    missing = selectors.people_in_scope(ops).count() - 3
    assert f"{missing} without one computed now" in large  # ops and the rest: no row this week, live


def test_rep_rows_paged_within_the_viewers_scope(monkeypatch):
    monkeypatch.setattr(adoption_views, "REPS_PER_PAGE", 2)
    manager = ManagerFactory.create()
    mine = [UserFactory.create(manager=manager, last_name=f"Mine{i}") for i in range(3)]
    outside = [UserFactory.create(last_name=f"Other{i}") for i in range(3)]
    url = reverse("enablement:adoption")
    client = _client(manager)

    def rows(page):
        html = client.get(url, {"page": page}).content.decode()
        return {p.pk for p in mine + outside if f'data-person="{p.pk}"' in html}, html

    first, html = rows(1)
    second, html2 = rows(2)
    assert len(first) == 2 and len(second) == 1
    assert first | second == {p.pk for p in mine}
    assert 'href="?page=2"' in html and 'href="?page=1"' in html2
    assert "Reps 1–2 of 3" in html
    assert rows(99)[0] == second  # past the end: the last page


def test_team_onboarding_and_programme_enrolments_paged(monkeypatch):
    monkeypatch.setattr(programme_views, "ROWS_PER_PAGE", 2)
    ops = UserFactory.create(is_sales_ops=True, is_rep=False)
    programme = Programme.objects.create(name="Paged", created_by=ops, auto_assign=False)
    people = [UserFactory.create(last_name=f"Starter{i}") for i in range(3)]
    Enrolment.objects.bulk_create([Enrolment(programme=programme, person=p, start_date=TODAY) for p in people])
    client = _client(ops)
    team = reverse("enablement:team_onboarding")
    pages = [client.get(team, {"page": n}).content.decode() for n in (1, 2)]
    assert [sum(f"/onboarding/people/{p.pk}/" in html for p in people) for html in pages] == [2, 1]
    assert 'href="?page=2"' in pages[0]
    done = client.get(team, {"done": "1"}).content.decode()
    assert 'href="?done=1&amp;page=2"' in done  # the filter kept across pages
    detail = reverse("enablement:programme_detail", args=[programme.pk])
    pages = [client.get(detail, {"page": n}).content.decode() for n in (1, 2)]
    assert [sum(f"/onboarding/people/{p.pk}/" in html for p in people) for html in pages] == [2, 1]


def test_stored_team_rows_summed_in_the_database_equal_the_live_ones_and_their_rep_rows():
    """The team rows of a large scope are summed over this week's rows in the database, the people without a row
    added live; a team row's figures are its reps' (a non-rep counts for people and active, not the means)."""
    ops, team, (hand, quiet, _busy) = _company()
    second = UserFactory.create(team=team)
    _deal(second, "Prospecting", next_step="", close_date=TODAY - dt.timedelta(days=3), updated=NOW, last_activity=None)
    leader = UserFactory.create(team=team, is_rep=False, is_manager=True)
    SignInEvent.objects.create(user=leader, via="password", at=NOW - dt.timedelta(hours=2))
    services.snapshot_write(person_ids=[hand.pk, quiet.pk, leader.pk], week=MONDAY, now=NOW)  # second: live
    live = selectors.scorecard_page(ops, today=TODAY, now=NOW, stored=False)
    stored = selectors.scorecard_page(ops, today=TODAY, now=NOW, stored=True)
    assert stored.teams == live.teams and stored.total == live.total
    row = next(t for t in stored.teams if t.team_id == team.pk)
    cards = [r.card for r in stored.reps if r.person_id in {hand.pk, quiet.pk, second.pk}]
    assert (row.people, row.active) == (4, 2)  # hand and the leader signed in this week
    assert row.score == engine.mean((c.score for c in cards), engine.SCORE_PLACES)
    assert row.parts == {key: engine.mean(c.parts[key] for c in cards) for key in engine.PARTS}
    assert row.parts["criteria_complete"] is not None  # hand's and second's deals


def test_team_onboarding_rows_counted_in_the_database_page_by_page():
    """A team onboarding row's counts and next step come from one aggregate over the page's enrolments: steps,
    done, overdue (open and past due) and the first open step by due date; an enrolment without steps reads 0."""
    ops = UserFactory.create(is_sales_ops=True, is_rep=False)
    programme = Programme.objects.create(name="Counted", created_by=ops, auto_assign=False)
    steps = [
        ProgrammeStep.objects.create(programme=programme, position=i, title=f"Step {i}", kind="task", due_days=days)
        for i, days in enumerate((3, 10, 10, 40), start=1)
    ]
    empty = Programme.objects.create(name="Empty", created_by=ops, auto_assign=False)
    a, b = UserFactory.create(last_name="Aa"), UserFactory.create(last_name="Bb")
    start = TODAY - dt.timedelta(days=20)
    enrolment = Enrolment.objects.create(programme=programme, person=a, start_date=start)
    StepProgress.objects.bulk_create(
        [
            StepProgress(enrolment=enrolment, step=s, due_on=start + dt.timedelta(days=s.due_days),
                         completed_at=NOW if s.position == 2 else None)
            for s in steps
        ]
    )  # fmt: skip
    Enrolment.objects.create(programme=empty, person=b, start_date=start)
    rows = programme_selectors.team_rows(ops, today=TODAY)
    assert len(rows) == 2
    first, second = rows[0:2]
    assert (first.person_id, first.steps, first.done, first.overdue) == (a.pk, 4, 1, 2)  # steps 1 and 3 past due
    assert (first.next_step, first.next_due) == ("Step 1", start + dt.timedelta(days=3))
    assert (second.person_id, second.steps, second.done, second.overdue, second.next_step) == (b.pk, 0, 0, 0, None)
    assert list(rows) == [first, second] and rows[1] == second
