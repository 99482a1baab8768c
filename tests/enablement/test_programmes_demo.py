"""The onboarding demo: two programmes, recent hires at different steps (due dates from their real start dates),
the demo rep's home showing their checklist. The demo is loaded once and rolled back afterwards."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from enablement.demo_learning import seed_learning
from enablement.demo_programmes import seed_programmes
from enablement.models import Course, Enrolment, Programme, QuizAttempt, StepProgress
from salesops.org.demo import DemoOrg
from salesops.org.models import User
from tests.demo_snapshot import load_demo


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, int]]:
    with django_db_blocker.unblock(), transaction.atomic():
        load_demo()
        today = timezone.localdate()
        people = User.objects.order_by("pk")
        org = DemoOrg(
            director=people.filter(is_manager=True, manager__isnull=True).first(),  # type: ignore[arg-type]
            managers=list(people.filter(is_manager=True, manager__isnull=False)),
            reps=list(people.filter(is_rep=True)),
            finance=people.filter(username="finance").first(),
            ops=people.filter(username="ops").first(),
        )
        if not Course.objects.filter(title="CRM essentials").exists():  # the lead wires learning into the demo
            seed_learning(org=org, seed=7, today=today)
        figures: dict[str, int] = {}
        if not Programme.objects.filter(name="Rep onboarding").exists():
            figures = seed_programmes(org=org, seed=7, today=today)
        yield figures
        transaction.set_rollback(True)


def _step(person: User, title: str) -> StepProgress:
    return StepProgress.objects.select_related("step", "enrolment").get(enrolment__person=person, step__title=title)


@pytest.mark.django_db
def test_programmes_and_hires_at_different_steps(demo: dict[str, int]) -> None:
    today = timezone.localdate()
    rep_programme = Programme.objects.get(name="Rep onboarding")
    assert rep_programme.for_role == "rep" and rep_programme.auto_assign
    kinds = list(rep_programme.steps.order_by("position").values_list("kind", flat=True))
    assert kinds.count("course") == 1 and kinds.count("certification") == 1 and kinds.count("milestone") == 3
    assert Programme.objects.get(name="Manager onboarding").for_role == "manager"
    demo_rep = User.objects.get(username="rep")
    dated = User.objects.filter(is_rep=True, is_active=True, start_date__isnull=False).exclude(pk=demo_rep.pk)
    newest, middle, oldest = list(dated.order_by("-start_date", "-pk")[:3])
    for hire in (newest, middle, oldest):
        enrolment = Enrolment.objects.get(person=hire, programme=rep_programme)
        assert enrolment.start_date == hire.start_date
        setup = _step(hire, "Set up your CRM profile")
        assert setup.due_on == hire.start_date + dt.timedelta(days=2) and setup.completed_at is not None
    # The newest has not shadowed their calls yet (overdue once its due date, start + 14 days, has passed: on a
    # quarter's first days the newest may have started less than two weeks ago); the demo rep, hired long ago, is
    # overdue with it whatever the day.
    assert _step(newest, "Shadow three discovery calls").completed_at is None
    shadow = _step(demo_rep, "Shadow three discovery calls")
    assert shadow.completed_at is None and shadow.due_on < today
    assert _step(middle, "Shadow three discovery calls").completed_at is not None
    # The middle hire read the lessons and failed the quiz: a failed attempt earns nothing.
    assert QuizAttempt.objects.filter(person=middle, passed=False).exists()
    assert not QuizAttempt.objects.filter(person=middle, passed=True).exists()
    for title in ("Complete “CRM essentials”", "Get “CRM certified”"):
        assert _step(middle, title).completed_at is None, title
        assert _step(oldest, title).completed_at is not None, title


@pytest.mark.django_db
def test_demo_rep_and_manager_see_onboarding_on_their_home(demo: dict[str, int]) -> None:
    client = Client()
    client.force_login(User.objects.get(username="rep"))
    html = client.get(reverse("home")).content.decode()
    assert 'data-panel="rep-onboarding"' in html and "Rep onboarding" in html
    assert "overdue" in html  # "Shadow three discovery calls", due long ago
    client.force_login(User.objects.get(username="manager"))
    html = client.get(reverse("home")).content.decode()
    start = html.index('data-testid="team-onboarding-overdue"')
    assert int(html[html.index(">", start) + 1 : html.index("<", start)]) >= 1
