"""The daily enrolment of starters: one starter whose enrolment fails is left out, logged with their id, and every
starter after them is still enrolled; the task then retries only those left out, for the same day, and enrols
nobody twice."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from freezegun import freeze_time

from enablement.models import Enrolment
from enablement.services import programmes as services
from enablement.tasks_programmes import enrol_starters as enrol_starters_task
from tests.conftest import Org
from tests.enablement.test_programmes import make_programme

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 12, 6)


def _two_starters(org: Org) -> tuple[Any, Any]:
    first, second = sorted((org.rep_a, org.rep_c), key=lambda person: person.pk)
    for person in (first, second):
        person.start_date = dt.date(2026, 10, 1)
        person.save()
    make_programme(org, for_role="rep")
    return first, second


def _failing_for(monkeypatch: pytest.MonkeyPatch, person_id: int, *, times: int) -> dict[str, int]:
    """Enrolling `person_id` raises the first `times` times (a step its programme cannot hold, a database that
    refused a write)."""
    real, calls = services._enrol, {"failed": 0}

    def enrol(programme: Any, person: Any, **kwargs: Any) -> Any:
        if person.pk == person_id and calls["failed"] < times:
            calls["failed"] += 1
            raise RuntimeError("value too long for type character varying(200)")
        return real(programme, person, **kwargs)

    monkeypatch.setattr(services, "_enrol", enrol)
    return calls


@freeze_time("2026-12-06")
def test_one_failing_starter_does_not_stop_the_others(org: Org, monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    first, second = _two_starters(org)
    _failing_for(monkeypatch, first.pk, times=1)
    with (
        caplog.at_level(logging.ERROR, logger="enablement.services.programmes"),
        pytest.raises(services.StartersNotEnrolled) as failed,
    ):
        services.enrol_starters(today=TODAY)
    assert failed.value.failed == [first.pk] and failed.value.made == 1
    assert list(Enrolment.objects.values_list("person_id", flat=True)) == [second.pk]  # the one after: enrolled
    assert any(f"enrolling starter {first.pk}" in r.getMessage() and r.exc_info for r in caplog.records)
    # The next run enrols the one left out, and the other not again.
    assert services.enrol_starters(today=TODAY) == 1
    assert sorted(Enrolment.objects.values_list("person_id", flat=True)) == sorted([first.pk, second.pk])


@freeze_time("2026-12-06")
def test_the_task_retries_only_the_starters_left_out(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = _two_starters(org)
    _failing_for(monkeypatch, first.pk, times=1)
    enrolled: list[list[int] | None] = []
    real = services.enrol_starters

    def spy(**kwargs: Any) -> int:
        enrolled.append(kwargs.get("person_ids"))
        return real(**kwargs)

    monkeypatch.setattr(services, "enrol_starters", spy)
    # Run here (apply): the retry it asks for runs at once, with the day and the people it names.
    assert enrol_starters_task.apply().get() == 1
    assert enrolled == [None, [first.pk]]
    assert Enrolment.objects.filter(person=first).count() == 1 and Enrolment.objects.filter(person=second).count() == 1


@freeze_time("2026-12-06")
def test_a_starter_that_keeps_failing_fails_the_task(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = _two_starters(org)
    _failing_for(monkeypatch, first.pk, times=99)
    result = enrol_starters_task.apply()
    assert result.state == "FAILURE" and isinstance(result.result, services.StartersNotEnrolled)
    assert result.result.failed == [first.pk]
    assert list(Enrolment.objects.values_list("person_id", flat=True)) == [second.pk]
