"""The onboarding demo: two programmes, recent hires at different steps (due dates from their real start dates),
the demo rep's home showing their checklist. The demo is loaded once and rolled back afterwards."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from enablement.demo_learning import seed_learning
from enablement.demo_programmes import HIRES, seed_programmes
from enablement.models import Course, Enrolment, Programme, StepProgress
from salesops.org.demo import DemoOrg
from salesops.org.models import User


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, int]]:
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", "--seed", "7", stdout=io.StringIO())
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
    found = {days: User.objects.filter(first_name=first, last_name=last).first() for days, first, last in HIRES}
    hires = {days: hire for days, hire in found.items() if hire is not None}
    if len(hires) < len(HIRES):
        pytest.skip("the demo has recent hires of its own on this day")
    for days, hire in hires.items():
        assert hire.start_date == today - dt.timedelta(days=days)
        enrolment = Enrolment.objects.get(person=hire, programme=rep_programme)
        assert enrolment.start_date == hire.start_date
        setup = _step(hire, "Set up your CRM profile")
        assert setup.due_on == hire.start_date + dt.timedelta(days=2) and setup.completed_at is not None
    newest, middle, oldest = hires[10], hires[35], hires[70]
    assert _step(newest, "Shadow three discovery calls").completed_at is None  # due in 4 days: not overdue
    shadow = _step(middle, "Shadow three discovery calls")
    assert shadow.completed_at is None and shadow.due_on < today  # overdue
    created = _step(middle, "5 opportunities created")
    assert created.completed_at is None and created.value == Decimal(2)  # "2 of 5"
    for title in ("Complete “CRM essentials”", "Get “CRM certified”", "5 opportunities created"):
        assert _step(oldest, title).completed_at is not None, title
    assert _step(oldest, "First deal won").completed_at is None


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
