"""Onboarding programmes: due dates, auto-enrolment, milestones through the real deal-change path, task steps and
who may tick them, overdue marking, learning sync."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from freezegun import freeze_time

import forecasting.timeseries  # noqa: F401  (pandas imported before any frozen clock: eager forecasting tasks run below)
from enablement.engine import programmes as engine
from enablement.models import Enrolment, Programme, StepProgress
from enablement.selectors.programmes import onboarding_progress
from enablement.services import programmes as services
from salesops.api import DomainError, Forbidden
from salesops.org import services as org_services
from tests.conftest import Org
from tests.factories import default_stages

pytestmark = pytest.mark.django_db


def make_programme(org: Org, **values: object) -> Programme:
    programme = services.programme_create(actor=org.ops, name=values.pop("name", "Rep onboarding"), **values)  # type: ignore[arg-type]
    services.step_add(actor=org.ops, programme=programme, title="Set up CRM", kind="task", due_days=3)
    services.step_add(actor=org.ops, programme=programme, title="Two opportunities", kind="milestone", due_days=30,
                      milestone="deals_created", target=2)  # fmt: skip
    return programme


def progress(person_id: int) -> dict[str, StepProgress]:
    return {p.step.title: p for p in StepProgress.objects.filter(enrolment__person_id=person_id).select_related("step")}


# ------------------------------------------------------------------------------------------------------ engine
def test_engine_due_dates_overdue_starters_and_matching() -> None:
    start = dt.date(2026, 11, 2)
    assert engine.due_on(start, 30) == dt.date(2026, 12, 2)
    assert engine.enrolment_start(None, dt.date(2026, 12, 6)) == dt.date(2026, 12, 6)
    assert engine.enrolment_start(start, dt.date(2026, 12, 6)) == start
    assert engine.is_overdue(done=False, due=dt.date(2026, 12, 5), today=dt.date(2026, 12, 6))
    assert not engine.is_overdue(done=False, due=dt.date(2026, 12, 6), today=dt.date(2026, 12, 6))
    assert not engine.is_overdue(done=True, due=dt.date(2026, 1, 1), today=dt.date(2026, 12, 6))
    today = dt.date(2026, 12, 6)
    assert engine.is_starter(today - dt.timedelta(days=90), today=today)
    assert not engine.is_starter(today - dt.timedelta(days=91), today=today)
    assert engine.is_starter(today + dt.timedelta(days=20), today=today) and not engine.is_starter(None, today=today)
    assert engine.programme_matches(for_role="rep", for_team_id=1, for_region_id=None, roles=["rep"], team_id=1,
                                    region_id=5)  # fmt: skip
    assert not engine.programme_matches(for_role="rep", for_team_id=1, for_region_id=None, roles=["rep"], team_id=2,
                                        region_id=5)  # fmt: skip
    assert not engine.programme_matches(for_role="manager", for_team_id=None, for_region_id=None, roles=["rep"],
                                        team_id=2, region_id=5)  # fmt: skip
    assert engine.milestone_reached(value=Decimal(1), target=Decimal(2), already=True)
    assert engine.progress_counts(
        [engine.StepState(True, today), engine.StepState(False, today - dt.timedelta(days=1))], today=today
    ) == (2, 1, 1)


# ------------------------------------------------------------------------------------------------- due dates
@freeze_time("2026-12-06")
def test_due_dates_from_start_date_and_from_enrolment_day_without_one(org: Org) -> None:
    programme = make_programme(org, auto_assign=False)
    org.rep_a.start_date = dt.date(2026, 11, 20)
    org.rep_a.save()
    org.rep_b.start_date = None
    org.rep_b.save()
    services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_a)
    services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_b)
    a, b = progress(org.rep_a.pk), progress(org.rep_b.pk)
    assert a["Set up CRM"].due_on == dt.date(2026, 11, 23) and a["Two opportunities"].due_on == dt.date(2026, 12, 20)
    # No start date: counted from the day of enrolment.
    assert b["Set up CRM"].due_on == dt.date(2026, 12, 9) and b["Two opportunities"].due_on == dt.date(2027, 1, 5)
    assert Enrolment.objects.get(person=org.rep_b).start_date == dt.date(2026, 12, 6)
    # A step added later reaches the open enrolments, due from each one's start.
    services.step_add(actor=org.ops, programme=programme, title="Shadow a call", kind="task", due_days=10)
    assert progress(org.rep_a.pk)["Shadow a call"].due_on == dt.date(2026, 11, 30)
    assert progress(org.rep_b.pk)["Shadow a call"].due_on == dt.date(2026, 12, 16)
    # Overdue: rep_a's CRM set-up (due 23 Nov) and shadowing (30 Nov); nothing of rep_b's.
    summary = onboarding_progress([org.rep_a.pk, org.rep_b.pk, org.rep_c.pk], today=dt.date(2026, 12, 6))
    assert set(summary) == {org.rep_a.pk, org.rep_b.pk}
    assert (summary[org.rep_a.pk].steps, summary[org.rep_a.pk].done, summary[org.rep_a.pk].overdue) == (3, 0, 2)
    assert summary[org.rep_a.pk].next_step == "Set up CRM" and summary[org.rep_a.pk].next_due == dt.date(2026, 11, 23)
    assert summary[org.rep_b.pk].overdue == 0
    with pytest.raises(DomainError):
        services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_a)
    with pytest.raises(Forbidden):
        services.enrolment_create(actor=org.manager_east, programme=programme, person=org.rep_c)


# ------------------------------------------------------------------------------------------------ auto-enrolment
@freeze_time("2026-12-06")
def test_auto_enrolment_on_person_create_and_update_by_role_and_team(
    org: Org, django_capture_on_commit_callbacks
) -> None:
    team = org.manager_east.team
    make_programme(org, for_role="rep", for_team=team)
    with django_capture_on_commit_callbacks(execute=True):
        hire = org_services.person_create(actor=org.ops, username="new_hire", is_rep=True, team=team,
                                          region=org.manager_east.region, manager=org.manager_east,
                                          start_date=dt.date(2026, 12, 1))  # fmt: skip
        # Not matching: another team.
        other = org_services.person_create(actor=org.ops, username="west_hire", is_rep=True,
                                           team=org.manager_west.team, region=org.manager_west.region,
                                           manager=org.manager_west, start_date=dt.date(2026, 12, 1))  # fmt: skip
        # Matching team but started long ago: not a starter.
        veteran = org_services.person_create(actor=org.ops, username="veteran", is_rep=True, team=team,
                                             region=org.manager_east.region, manager=org.manager_east,
                                             start_date=dt.date(2024, 1, 1))  # fmt: skip
    enrolment = Enrolment.objects.get(person=hire)
    assert enrolment.start_date == dt.date(2026, 12, 1) and enrolment.enrolled_by is None
    assert progress(hire.pk)["Set up CRM"].due_on == dt.date(2026, 12, 4)
    assert not Enrolment.objects.filter(person__in=[other, veteran]).exists()
    # Update: the west hire moves to the matching team; the veteran gets a (re)start date next month.
    with django_capture_on_commit_callbacks(execute=True):
        org_services.person_update(actor=org.ops, person=other, team=team, region=org.manager_east.region,
                                   manager=org.manager_east)  # fmt: skip
        org_services.person_update(actor=org.ops, person=veteran, start_date=dt.date(2027, 1, 4))
    assert Enrolment.objects.get(person=other).start_date == dt.date(2026, 12, 1)
    assert progress(veteran.pk)["Two opportunities"].due_on == dt.date(2027, 2, 3)
    # Idempotent: the daily sweep enrols nobody twice.
    assert services.enrol_starters(today=dt.date(2026, 12, 6)) == 0
    assert Enrolment.objects.count() == 3


@freeze_time("2026-12-06")
def test_daily_sweep_enrols_starters_not_yet_enrolled(org: Org) -> None:
    org.rep_c.start_date = dt.date(2026, 10, 1)
    org.rep_c.save()
    make_programme(org, for_role="rep")
    assert services.enrol_starters(today=dt.date(2026, 12, 6)) == 1
    assert list(Enrolment.objects.values_list("person_id", flat=True)) == [org.rep_c.pk]


# -------------------------------------------------------------------------------------------------- milestones
@freeze_time("2026-12-06 10:00")
def test_milestone_completes_after_the_qualifying_deal_change(org: Org, celery_eager,
                                                             django_capture_on_commit_callbacks) -> None:  # fmt: skip
    from pipeline import services as deals

    programme = make_programme(org, auto_assign=False)
    services.step_add(actor=org.ops, programme=programme, title="First 1,000 booked", kind="milestone",
                      due_days=60, milestone="booked", target="1000")  # fmt: skip
    org.rep_a.start_date = dt.date(2026, 12, 1)
    org.rep_a.save()
    services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_a)
    stages = default_stages()
    won = next(s for s in stages.values() if s.is_won)
    # A deal created before the start date does not count.
    deals.deal_create(actor=org.rep_a, name="Old", owner=org.rep_a, amount="5000", created_date=dt.date(2026, 11, 1))
    with django_capture_on_commit_callbacks(execute=True):
        deals.deal_create(actor=org.rep_a, name="First", owner=org.rep_a, amount="400")
    steps = progress(org.rep_a.pk)
    assert steps["Two opportunities"].completed_at is None and steps["Two opportunities"].value == Decimal("1.00")
    with django_capture_on_commit_callbacks(execute=True):
        deals.deal_create(actor=org.rep_a, name="Second", owner=org.rep_a, amount="700", stage=won,
                          close_date=dt.date(2026, 12, 5))  # fmt: skip
    steps = progress(org.rep_a.pk)
    assert steps["Two opportunities"].completed_at is not None and steps["Two opportunities"].value == Decimal("2.00")
    assert steps["First 1,000 booked"].completed_at is None and steps["First 1,000 booked"].value == Decimal("700.00")
    # Another rep's deals change nothing of rep_a's.
    with django_capture_on_commit_callbacks(execute=True):
        deals.deal_create(actor=org.rep_b, name="Not hers", owner=org.rep_b, amount="900", stage=won,
                          close_date=dt.date(2026, 12, 5))  # fmt: skip
    assert progress(org.rep_a.pk)["First 1,000 booked"].value == Decimal("700.00")
    with django_capture_on_commit_callbacks(execute=True):
        deals.deal_create(actor=org.rep_a, name="Third", owner=org.rep_a, amount="300", stage=won,
                          close_date=dt.date(2026, 12, 6))  # fmt: skip
    assert progress(org.rep_a.pk)["First 1,000 booked"].completed_at is not None
    # Once complete it stays complete, whatever happens later.
    assert services.milestones_evaluate(now=timezone.now()) == 0
    assert progress(org.rep_a.pk)["Two opportunities"].completed_at is not None


# ------------------------------------------------------------------------------------------------ task steps
@freeze_time("2026-12-06")
def test_task_step_ticked_by_person_manager_ops_but_not_another_team(org: Org) -> None:
    programme = make_programme(org, auto_assign=False)
    services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_a)
    task = progress(org.rep_a.pk)["Set up CRM"]
    services.step_progress_set(actor=org.manager_east, progress=task, done=True)
    task.refresh_from_db()
    assert task.completed_at is not None and task.completed_by == org.manager_east
    services.step_progress_set(actor=org.rep_a, progress=task, done=False)
    services.step_progress_set(actor=org.ops, progress=task, done=True)
    for outsider in (org.rep_c, org.manager_west, org.finance, org.rep_b):
        with pytest.raises(Forbidden):
            services.step_progress_set(actor=outsider, progress=task, done=False)
    with pytest.raises(DomainError):  # a milestone completes by itself
        services.step_progress_set(actor=org.ops, progress=progress(org.rep_a.pk)["Two opportunities"], done=True)


# -------------------------------------------------------------------------------------------- learning sync
@freeze_time("2026-12-06")
def test_course_and_certification_steps_follow_completions_and_awards(org: Org) -> None:
    from enablement.models import Certification, CertificationAward, Course, CourseCompletion

    course = Course.objects.create(title="CRM basics", created_by=org.ops, status="published")
    cert = Certification.objects.create(name="CRM certified", course=course, valid_days=30)
    programme = services.programme_create(actor=org.ops, name="Learn", auto_assign=False)
    services.step_add(actor=org.ops, programme=programme, title="Take the course", kind="course", due_days=5,
                      course=course)  # fmt: skip
    services.step_add(actor=org.ops, programme=programme, title="Get certified", kind="certification",
                      due_days=10, certification=cert)  # fmt: skip
    enrolment = services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_a)
    CourseCompletion.objects.create(course=course, person=org.rep_a)
    CertificationAward.objects.create(certification=cert, person=org.rep_a, awarded_on=dt.date(2026, 12, 6),
                                      expires_on=dt.date(2027, 1, 5))  # fmt: skip
    assert services.progress_sync_learning(person_ids=[org.rep_a.pk], today=dt.date(2026, 12, 6)) == 2
    enrolment.refresh_from_db()
    assert enrolment.completed_at is not None
    # The award expires: the certification step reopens, the enrolment is open again.
    assert services.progress_sync_learning(person_ids=[org.rep_a.pk], today=dt.date(2027, 1, 5)) == 1
    step = progress(org.rep_a.pk)["Get certified"]
    enrolment.refresh_from_db()
    assert step.completed_at is None and step.reopened_at is not None and enrolment.completed_at is None
    assert progress(org.rep_a.pk)["Take the course"].completed_at is not None


@freeze_time("2026-12-06 10:00")
def test_milestone_progress_reads_as_money_and_counts(org: Org, client_for) -> None:
    """The onboarding page and the rep's home show a milestone's value against its target for people, the
    programme's page its target: an amount booked with thousands separators and cents, a count whole."""
    programme = make_programme(org, auto_assign=False)
    services.step_add(actor=org.ops, programme=programme, title="First 50,000 booked", kind="milestone",
                      due_days=60, milestone="booked", target="50000")  # fmt: skip
    services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_a)
    steps = progress(org.rep_a.pk)
    StepProgress.objects.filter(pk=steps["First 50,000 booked"].pk).update(value=Decimal("1889410.50"))
    StepProgress.objects.filter(pk=steps["Two opportunities"].pk).update(value=Decimal("1.00"))
    body = client_for(org.rep_a).get("/enablement/onboarding/").content.decode()
    assert '<span class="muted" data-testid="milestone-progress">1,889,410.50 of 50,000.00</span>' in body
    assert '<span class="muted" data-testid="milestone-progress">1 of 2</span>' in body
    assert "1889410" not in body
    home = client_for(org.rep_a).get("/").content.decode()  # the rep's home lists the open checklist too
    assert '<span class="muted" data-testid="milestone-progress">1,889,410.50 of 50,000.00</span>' in home
    setup = client_for(org.ops).get(f"/enablement/programmes/{programme.pk}/").content.decode()
    assert "Amount booked: 50,000.00" in setup and "Opportunities created: 2<" in setup
    assert engine.milestone_text("deals_won", Decimal("2.50")) == "2.5"  # a count's target set with decimals keeps them
    assert engine.milestone_text("activities", Decimal("1250")) == "1,250"
