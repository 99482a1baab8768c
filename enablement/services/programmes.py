"""Writes of onboarding programmes: programmes and steps (sales ops), enrolments (automatic and by hand), step
completion (tasks by hand; courses, certifications and CRM milestones automatically).

docs/enablement-programmes.md describes every rule.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from enablement.engine import programmes as engine
from enablement.models import (
    CertificationAward,
    CourseCompletion,
    Enrolment,
    Milestone,
    Programme,
    ProgrammeStep,
    StepKind,
    StepProgress,
)
from enablement.selectors.programmes import may_tick
from pipeline import selectors as pipeline_selectors
from pipeline.selectors import MilestoneCounts
from salesops.api import DomainError, Forbidden
from salesops.org.models import User
from salesops.org.permissions import may_manage_setup
from salesops.org.services import audit_record

log = logging.getLogger(__name__)


def _refresh_enrolments_done(enrolment_ids: Iterable[int], *, now: dt.datetime) -> None:
    """Set completed_at on enrolments whose every step is done; clear it where a step is open. Inside a
    transaction it looks again once that commits: two steps of one enrolment completed at once (the rep ticks
    their last task while a deal change completes their last milestone) each saw the other still open, so
    neither completed the enrolment and it stayed open with every step done. The look after the commit of the
    later one sees both."""
    ids = set(enrolment_ids)
    if not ids:
        return
    _set_enrolments_done(ids, now=now)
    if transaction.get_connection().in_atomic_block:
        # Robust: the change has committed by then; a failure of this second look is logged, never a 500 for a
        # saved change, and never stops the callbacks queued after it (the outbox's messages).
        transaction.on_commit(lambda: _look_again(ids), robust=True)


def _look_again(ids: set[int]) -> None:
    """The look after the commit, in a transaction of its own with the enrolments locked (in id order) before
    their steps are read: a step reopened meanwhile either committed before (and is seen open) or waits for this
    look to end and then clears the completion itself. Read and written without the lock, as separate statements,
    a step reopened in between was missed and the enrolment completed with that step open."""
    with transaction.atomic():
        locked = _lock_enrolments(ids)
        if locked:
            _set_enrolments_done(locked, now=timezone.now())


def _set_enrolments_done(ids: set[int], *, now: dt.datetime) -> None:
    # The enrolments are locked in id order before either write, as _look_again locks them: the two updates below
    # lock their rows in no set order (the reopened ones, then the completed ones), and a look at the same
    # enrolments at that moment held one and waited for the other ("deadlock detected").
    _lock_enrolments(ids)
    open_ids = set(
        StepProgress.objects.filter(enrolment_id__in=ids, completed_at__isnull=True).values_list(
            "enrolment_id", flat=True
        )
    )
    Enrolment.objects.filter(id__in=open_ids, completed_at__isnull=False).update(completed_at=None)
    Enrolment.objects.filter(id__in=ids - open_ids, completed_at__isnull=True).update(completed_at=now)


def _lock_steps_of(person_ids: Iterable[int]) -> None:
    """Lock every step of these people (their copies in every enrolment), in id order: a writer that locks steps
    in two passes takes them all in the first, so that no other writer, locking a part of them in id order, holds
    one it waits for."""
    steps = StepProgress.objects.filter(enrolment__person_id__in=set(person_ids))
    list(steps.select_for_update(of=("self",)).order_by("pk").values_list("pk"))  # the steps alone, not the enrolments


def _lock_enrolments(ids: Iterable[int]) -> set[int]:
    """Lock the enrolments' rows in id order (every multi-row lock of enrolments takes this order); the ids that
    still exist."""
    return set(
        Enrolment.objects.select_for_update().filter(id__in=set(ids)).order_by("pk").values_list("pk", flat=True)
    )


@transaction.atomic
def progress_sync_learning(
    *, person_ids: Iterable[int], today: dt.date, progress_ids: Iterable[int] | None = None
) -> int:
    """Course steps complete when the person completed the course; certification steps complete while the person
    holds the certification validly on `today` (awarded_on <= today < expires_on) and reopen when they no longer
    do. `progress_ids`: only these copies of steps (those just added or edited), not every step of the people.
    Returns how many steps changed."""
    ids = {int(i) for i in person_ids}
    if not ids:
        return 0
    now = timezone.now()
    candidates = StepProgress.objects.filter(
        enrolment__person_id__in=ids, step__kind__in=[StepKind.COURSE, StepKind.CERTIFICATION]
    )
    if progress_ids is not None:
        candidates = candidates.filter(id__in=set(progress_ids))
    rows = list(
        candidates.select_related("step", "enrolment")
        .select_for_update(of=("self",))
        .order_by("pk")  # locked in id order, as every multi-row lock of steps
    )
    if not rows:
        return 0
    courses: dict[int, set[int]] = {}
    for person_id, course_id in CourseCompletion.objects.filter(person_id__in=ids).values_list(
        "person_id", "course_id"
    ):
        courses.setdefault(person_id, set()).add(course_id)
    certs: dict[int, set[int]] = {}
    valid = CertificationAward.objects.filter(person_id__in=ids, awarded_on__lte=today, expires_on__gt=today)
    for person_id, cert_id in valid.values_list("person_id", "certification_id"):
        certs.setdefault(person_id, set()).add(cert_id)
    done: list[int] = []
    reopened: list[int] = []
    touched: set[int] = set()
    for row in rows:
        person_id = row.enrolment.person_id
        if row.step.kind == StepKind.COURSE:
            if row.completed_at is None and row.step.course_id in courses.get(person_id, set()):
                done.append(row.pk)
                touched.add(row.enrolment_id)
        else:
            holds = row.step.certification_id in certs.get(person_id, set())
            if row.completed_at is None and holds:
                done.append(row.pk)
                touched.add(row.enrolment_id)
            elif row.completed_at is not None and not holds:
                reopened.append(row.pk)
                touched.add(row.enrolment_id)
    if done:
        StepProgress.objects.filter(id__in=done).update(completed_at=now, completed_by=None)
    if reopened:
        StepProgress.objects.filter(id__in=reopened).update(completed_at=None, completed_by=None, reopened_at=now)
    _refresh_enrolments_done(touched, now=now)
    return len(done) + len(reopened)


# ------------------------------------------------------------------------------------------ programmes and steps
def _check_ops(actor: User) -> None:
    if not may_manage_setup(actor):
        raise Forbidden("Only sales ops change onboarding programmes and enrolments.")


TITLE_MAX = 160  # a programme's name, a step's title (the columns' length)


def _full_clean(record: Any) -> None:
    """Model validation as a DomainError naming the field (pages show it; the API answers 400)."""
    try:
        record.full_clean()
    except ValidationError as error:
        field = next(iter(getattr(error, "message_dict", {})), None)
        raise DomainError(" ".join(error.messages), field=field) from error


PROGRAMME_FIELDS = ("name", "description", "is_active", "for_role", "for_team", "for_region", "auto_assign")


@transaction.atomic
def programme_create(*, actor: User, name: str, **values: Any) -> Programme:
    _check_ops(actor)
    unknown = set(values) - set(PROGRAMME_FIELDS)
    if unknown:
        raise TypeError(f"programme_create got unknown fields: {sorted(unknown)}")
    name = (name or "").strip()
    if not name:
        raise DomainError("A programme needs a name.", field="name")
    if Programme.objects.filter(name__iexact=name).exists():
        raise DomainError(f"A programme named “{name}” exists already.", field="name")
    programme = Programme(name=name, created_by=actor, **values)
    _full_clean(programme)
    programme.save()
    audit_record(actor=actor, instance=programme, action="create", changes={"name": (None, name)})
    return programme


@transaction.atomic
def programme_update(*, actor: User, programme: Programme, **values: Any) -> Programme:
    _check_ops(actor)
    unknown = set(values) - set(PROGRAMME_FIELDS)
    if unknown:
        raise TypeError(f"programme_update got unknown fields: {sorted(unknown)}")
    programme = Programme.objects.select_for_update().get(pk=programme.pk)
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
        if not values["name"]:
            raise DomainError("A programme needs a name.", field="name")
        if Programme.objects.filter(name__iexact=values["name"]).exclude(pk=programme.pk).exists():
            raise DomainError(f"A programme named “{values['name']}” exists already.", field="name")
    changes: dict[str, tuple[Any, Any]] = {}
    for field, new in values.items():
        old = getattr(programme, field)
        if old != new:
            changes[field] = (old, new)
            setattr(programme, field, new)
    if changes:
        _full_clean(programme)
        programme.save()
        audit_record(actor=actor, instance=programme, action="update", changes=changes)
    return programme


def _clean_step(
    *, title: str, kind: str, due_days: int, course: Any, certification: Any, milestone: str, target: Any
) -> dict[str, Any]:
    title = (title or "").strip()
    if not title:
        raise DomainError("A step needs a title.", field="title")
    if len(title) > TITLE_MAX:
        raise DomainError(f"A step's title is at most {TITLE_MAX} characters ({len(title)} given).", field="title")
    if kind not in StepKind.values:
        raise DomainError(f"“{kind}” is not a step kind ({', '.join(StepKind.values)}).", field="kind")
    if due_days is None or int(due_days) < 0 or int(due_days) > 3650:
        raise DomainError(f"Step “{title}”: days after the start date must be between 0 and 3650.", field="due_days")
    values: dict[str, Any] = {"title": title, "kind": kind, "due_days": int(due_days), "course": None,
                              "certification": None, "milestone": "", "target": None}  # fmt: skip
    if kind == StepKind.COURSE:
        if course is None:
            raise DomainError(f"Step “{title}”: a course step names a course.", field="course")
        values["course"] = course
    elif kind == StepKind.CERTIFICATION:
        if certification is None:
            raise DomainError(f"Step “{title}”: a certification step names a certification.", field="certification")
        values["certification"] = certification
    elif kind == StepKind.MILESTONE:
        if milestone not in Milestone.values:
            raise DomainError(f"Step “{title}”: choose what the milestone counts.", field="milestone")
        try:
            amount = Decimal(str(target))
        except (InvalidOperation, ValueError):
            amount = Decimal(0)
        if not amount.is_finite() or amount <= 0 or amount >= Decimal("1e12"):
            raise DomainError(f"Step “{title}”: a milestone needs a target above zero.", field="target")
        values["milestone"] = milestone
        values["target"] = amount.quantize(Decimal("0.01"))
    return values


@transaction.atomic
def step_add(
    *,
    actor: User,
    programme: Programme,
    title: str,
    kind: str,
    due_days: int,
    course: Any = None,
    certification: Any = None,
    milestone: str = "",
    target: Any = None,
) -> ProgrammeStep:
    """Add a step at the end of the programme; every open enrolment gets it (due from its own start date)."""
    _check_ops(actor)
    programme = Programme.objects.select_for_update().get(pk=programme.pk)
    values = _clean_step(title=title, kind=kind, due_days=due_days, course=course, certification=certification,
                         milestone=milestone, target=target)  # fmt: skip
    last = programme.steps.order_by("-position").values_list("position", flat=True).first() or 0
    step = ProgrammeStep.objects.create(programme=programme, position=last + 1, **values)
    audit_record(actor=actor, instance=step, action="create", changes={k: (None, v) for k, v in values.items()})
    # Every enrolment gets it: an open one, and a completed one (which reopens: it has a new step to do). Only the
    # new copies are evaluated after (nothing else of the people changed), so no step written before is locked:
    # evaluating all their course steps and then all their milestones took their steps in other programmes in two
    # passes, and a start date corrected at that moment (all the person's steps in one pass, in id order) held a
    # milestone and waited for a course step held here ("deadlock detected"). The enrolments are locked in id order
    # before any is written: the completions written after (in several passes) wait for nobody then.
    enrolments = list(Enrolment.objects.select_for_update().filter(programme=programme).order_by("pk"))
    copies = StepProgress.objects.bulk_create(
        [StepProgress(enrolment=e, step=step, due_on=engine.due_on(e.start_date, step.due_days)) for e in enrolments]
    )
    people = {e.person_id for e in enrolments}
    _after_steps_added(people, enrolment_ids={e.pk for e in enrolments}, progress_ids={c.pk for c in copies})
    return step


RULE_FIELDS = ("kind", "course", "certification", "milestone", "target")  # what makes a step's copy done


def _done_by_the_new_rule_too(old: dict[str, Any], step: ProgrammeStep) -> bool:
    """Whether whatever the step's old rule completed is done by its new rule too, without looking again: only a
    milestone whose target was lowered (the count reached the higher one; and once done a milestone stays done)."""
    return (
        old["kind"] == step.kind == StepKind.MILESTONE
        and old["milestone"] == step.milestone
        and step.target is not None
        and old["target"] is not None
        and step.target <= old["target"]
    )


@transaction.atomic
def step_update(*, actor: User, step: ProgrammeStep, **values: Any) -> ProgrammeStep:
    """Change a step; a new number of days moves the due date of every enrolment's copy of it. A new kind, course,
    certification, milestone or a higher target undoes what the old rule completed (a task's ticks, the old course's,
    certification's or target's completions): each copy is done again at once only where the new rule holds (the
    course completed, the certification held, the milestone reached); a step turned into a task waits for its tick.
    A lower target keeps the copies done and completes those that reach it now."""
    _check_ops(actor)
    # The programme's lock, as step_add and step_delete hold it: someone enrolled at that moment copied the step
    # with its old days, and the due dates moved below missed their copy (due on the old date, for good).
    _lock_programme_id(step.programme_id)
    step = ProgrammeStep.objects.select_for_update().get(pk=step.pk)
    current: dict[str, Any] = {"title": step.title, "kind": step.kind, "due_days": step.due_days, "course": step.course,
               "certification": step.certification, "milestone": step.milestone, "target": step.target}  # fmt: skip
    cleaned = _clean_step(**(current | values))
    changes = {k: (current[k], v) for k, v in cleaned.items() if current[k] != v}
    if not changes:
        return step
    for field, (_, new) in changes.items():
        setattr(step, field, new)
    step.save()
    audit_record(actor=actor, instance=step, action="update", changes=changes)
    new_rule = any(field in changes for field in RULE_FIELDS)
    if "due_days" not in changes and not new_rule:
        return step  # a new title: no copy changes
    # The step's copies alone are locked, in id order (the copies, not their enrolments), with the start dates
    # their due dates follow: the people's other steps do not change. New days change no completion, so nothing
    # else is locked; a new rule then locks the copies' enrolments (in id order) before evaluating the copies.
    copies = list(
        StepProgress.objects.filter(step=step)
        .select_for_update(of=("self",))
        .order_by("pk")
        .values_list("pk", "enrolment_id", "enrolment__person_id", "enrolment__start_date", "completed_at")
    )
    if "due_days" in changes:
        moved = [StepProgress(pk=pk, due_on=engine.due_on(start, step.due_days)) for pk, _, _, start, _ in copies]
        StepProgress.objects.bulk_update(moved, ["due_on"], batch_size=2000)
    if new_rule and copies:
        enrolment_ids = _lock_enrolments({enrolment_id for _, enrolment_id, *_ in copies})
        if not _done_by_the_new_rule_too(current, step):
            # Every copy done was done by the old rule: a tick when the step was a task (only tasks are ticked), else
            # the old course, certification or target. It reopens, and the evaluation below completes it again at
            # once only where the new rule holds; a step turned into a task waits for its tick.
            done = [pk for pk, *_, completed_at in copies if completed_at is not None]
            StepProgress.objects.filter(id__in=done).update(
                completed_at=None, completed_by=None, reopened_at=timezone.now()
            )
        people = {person_id for _, _, person_id, _, _ in copies}
        _after_steps_added(people, enrolment_ids=enrolment_ids, progress_ids={pk for pk, *_ in copies})
    return step


@transaction.atomic
def step_delete(*, actor: User, step: ProgrammeStep) -> None:
    _check_ops(actor)
    # The programme's lock, as step_add and enrolling hold it: an enrolment made at that moment copied the step
    # being removed and failed at its commit (its copy named a deleted step).
    _lock_programme_id(step.programme_id)
    # Its copies are locked in id order before they are deleted (the delete takes them in the table's order): a
    # writer of several of them (a learning sync, the milestones' run), holding a lower one and waiting for a higher
    # one, deadlocked with the delete holding the higher one.
    enrolment_ids = set(
        StepProgress.objects.filter(step=step)
        .select_for_update(of=("self",))
        .order_by("pk")
        .values_list("enrolment_id", flat=True)
    )
    audit_record(actor=actor, instance=step, action="delete", changes={"title": (step.title, None)})
    step.delete()
    _refresh_enrolments_done(enrolment_ids, now=timezone.now())


def _after_steps_added(person_ids: set[int], *, enrolment_ids: set[int], progress_ids: set[int] | None = None) -> None:
    """New steps may already be done (a course completed, a certification held, a milestone reached). Only the new
    (or edited) copies are evaluated, `progress_ids` (by default every copy in `enrolment_ids`, new enrolments): the
    people's other steps did not change, and evaluating them locked steps of other programmes after this writer's
    enrolments, against the order every writer takes (programme, steps, enrolments)."""
    if progress_ids is None:
        progress_ids = set(
            StepProgress.objects.filter(enrolment_id__in=enrolment_ids).order_by().values_list("pk", flat=True)
        )
    if person_ids and progress_ids:
        progress_sync_learning(person_ids=person_ids, today=timezone.localdate(), progress_ids=progress_ids)
        milestones_evaluate(person_ids=person_ids, now=timezone.now(), progress_ids=progress_ids)
    _refresh_enrolments_done(enrolment_ids, now=timezone.now())


# ---------------------------------------------------------------------------------------------------- enrolments
def _lock_programme(programme: Programme) -> None:
    """Enrolments in a programme are made one at a time, and not while a step is being added to it or removed
    (step_add and step_delete hold the same row): two enrolments of one person at once met the database's
    "enrolled once" rule (a 500, or a starter logged as failed), and someone enrolled while a step was added
    missed that step for good. A programme deleted since it was read is refused, naming it (the enrolment failed
    at its commit, a 500)."""
    if not _lock_programme_id(programme.pk):
        raise DomainError(f"The programme “{programme.name}” no longer exists.", field="programme")


def _lock_programme_id(programme_id: int) -> bool:
    """Lock the programme's row; False when it no longer exists."""
    locked = Programme.objects.select_for_update().filter(pk=programme_id).values_list("pk", flat=True)
    return locked.first() is not None


def _enrol(programme: Programme, person: User, *, start: dt.date, enrolled_by: User | None) -> Enrolment:
    """Enrol (the caller holds the programme's lock): every step of the programme as it is now, due from `start`."""
    enrolment = Enrolment.objects.create(programme=programme, person=person, start_date=start, enrolled_by=enrolled_by)
    StepProgress.objects.bulk_create(
        [
            StepProgress(enrolment=enrolment, step=step, due_on=engine.due_on(start, step.due_days))
            for step in ProgrammeStep.objects.filter(programme_id=programme.pk).order_by("position", "id")
        ]
    )
    audit_record(actor=enrolled_by, instance=enrolment, action="create",
                 changes={"programme": (None, programme.name), "person": (None, person.pk),
                          "start_date": (None, start)})  # fmt: skip
    return enrolment


@transaction.atomic
def enrolment_create(*, actor: User, programme: Programme, person: User, today: dt.date | None = None) -> Enrolment:
    """Sales ops enrol someone by hand: from their start date, or from today when they have none."""
    _check_ops(actor)
    today = today or timezone.localdate()
    _lock_programme(programme)
    if Enrolment.objects.filter(programme=programme, person=person).exists():
        raise DomainError(f"{person.display_name} is already enrolled in “{programme.name}”.", field="person")
    enrolment = _enrol(programme, person, start=engine.enrolment_start(person.start_date, today), enrolled_by=actor)
    _after_steps_added({person.pk}, enrolment_ids={enrolment.pk})
    return enrolment


@transaction.atomic
def enrolment_delete(*, actor: User, enrolment: Enrolment) -> None:
    _check_ops(actor)
    changes = {"programme": (enrolment.programme_id, None), "person": (enrolment.person_id, None)}
    audit_record(actor=actor, instance=enrolment, action="delete", changes=changes)
    enrolment.delete()


def _matching_programmes(person: User) -> list[Programme]:
    programmes = Programme.objects.filter(is_active=True, auto_assign=True).order_by("pk")
    return [
        p
        for p in programmes
        if engine.programme_matches(
            for_role=p.for_role,
            for_team_id=p.for_team_id,
            for_region_id=p.for_region_id,
            roles=person.roles,
            team_id=person.team_id,
            region_id=person.region_id,
        )
    ]


def _moving_enrolments(person: User) -> QuerySet[Enrolment]:
    """The person's enrolments not finished that do not start on their start date (yet)."""
    assert person.start_date is not None
    return Enrolment.objects.filter(person=person, completed_at__isnull=True).exclude(start_date=person.start_date)


def _follow_start_date(person: User) -> None:
    """A start date set or corrected: the person's enrolments not finished start on it, and the due dates of
    their steps not done follow (start + the step's days)."""
    assert person.start_date is not None
    # The steps moved are locked (in id order) before their enrolments are saved, as every writer of a step's
    # completion locks them (a tick, a learning sync, a milestone evaluation: the step, then its enrolment's
    # completion). Saving the enrolment first, a milestone reached at that moment held the step and waited for the
    # enrolment while this held the enrolment and waited for the step ("deadlock detected").
    # Every step of the person is locked in that one pass, not only those moved: the learning sync that follows a
    # new enrolment locks the person's course and certification steps, and a sync for them at that moment, holding
    # a lower one of those, waited for a moved one held here ("deadlock detected").
    moving = _moving_enrolments(person)
    _lock_steps_of([person.pk])
    for enrolment in moving.order_by("pk"):
        old = enrolment.start_date
        enrolment.start_date = person.start_date
        enrolment.save(update_fields=["start_date"])
        steps = list(enrolment.steps.filter(completed_at__isnull=True).select_related("step"))
        for progress in steps:
            progress.due_on = engine.due_on(person.start_date, progress.step.due_days)
        StepProgress.objects.bulk_update(steps, ["due_on"])
        audit_record(actor=None, instance=enrolment, action="update", changes={"start_date": (old, person.start_date)},
                     reason=f"{person.display_name}'s start date")  # fmt: skip


@transaction.atomic
def enrol_if_starting(*, person_id: int, today: dt.date | None = None) -> int:
    """A person created or changed: when they start (a start date within the last 90 days or in the future) and
    are active, enrol them in every active auto-assigned programme that matches them and they are not on yet.
    Returns how many enrolments were made."""
    today = today or timezone.localdate()
    person = User.objects.filter(pk=person_id, is_active=True).first()
    if person is None:
        return 0
    starting = engine.is_starter(person.start_date, today=today)
    programmes = _matching_programmes(person) if starting else []
    # Every programme is locked before any of the person's rows is written, in id order: step_add locks its
    # programme and then the enrolled people's steps, so moving this person's due dates first and locking the
    # programme after was a deadlock with a step added to it at that moment. The programmes whose enrolments
    # move with the start date are locked too (one enrolled by hand, or no longer matching): a step added to one
    # at that moment was given a due date from the old start date, for good.
    moving = set()
    if person.start_date is not None:
        moving = set(_moving_enrolments(person).values_list("programme_id", flat=True))
    gone = {pk for pk in sorted({p.pk for p in programmes} | moving) if not _lock_programme_id(pk)}
    programmes = [p for p in programmes if p.pk not in gone]  # deleted since they were read
    if person.start_date is not None:
        _follow_start_date(person)
    if not starting:
        return 0
    made = []
    for programme in programmes:
        if not Enrolment.objects.filter(programme=programme, person=person).exists():
            start = engine.enrolment_start(person.start_date, today)
            made.append(_enrol(programme, person, start=start, enrolled_by=None))
    if made:
        _after_steps_added({person.pk}, enrolment_ids={e.pk for e in made})
    return len(made)


class StartersNotEnrolled(Exception):
    """Some starters could not be enrolled; everyone else was. `failed` lists their ids, so a retry enrols those
    only. Made by `of`; built from its message alone (as Celery's result backend rebuilds it) it names nobody."""

    made: int = 0
    failed: list[int]

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.failed = []

    @classmethod
    def of(cls, *, made: int, failed: list[int], today: dt.date) -> StartersNotEnrolled:
        shown = ", ".join(str(pk) for pk in failed[:20]) + (" …" if len(failed) > 20 else "")
        error = cls(f"{len(failed)} starter(s) of {today} not enrolled (people {shown}); {made} enrolment(s) made")
        error.made, error.failed = made, list(failed)
        return error


def enrol_starters(*, today: dt.date | None = None, person_ids: Iterable[int] | None = None) -> int:
    """Daily: everyone active who started within the last 90 days (or starts later) is enrolled where they match
    and are not yet (`person_ids`: of those, only these; a retry). Returns how many enrolments were made.

    Each person is enrolled in a transaction of their own (`enrol_if_starting`): one whose enrolment raises is
    logged with their id and left out, everyone after them is still enrolled, and StartersNotEnrolled then names
    those left out (the task retries them; enrolling is idempotent, so nobody is enrolled twice)."""
    today = today or timezone.localdate()
    since = today - dt.timedelta(days=engine.STARTER_WINDOW_DAYS)
    people = User.objects.filter(is_active=True, start_date__gte=since).order_by("pk")
    if person_ids is not None:
        people = people.filter(pk__in={int(pk) for pk in person_ids})
    made, failed = 0, []
    for pk in people.values_list("pk", flat=True):
        try:
            made += enrol_if_starting(person_id=pk, today=today)
        except SoftTimeLimitExceeded:  # the task's time is up: the rest wait for the next run
            raise
        except Exception:
            log.exception("enrolling starter %s (%s) failed; the other starters go on", pk, today)
            failed.append(pk)
    if failed:
        raise StartersNotEnrolled.of(made=made, failed=failed, today=today)
    return made


# --------------------------------------------------------------------------------------------------- completion
@transaction.atomic
def step_progress_set(*, actor: User, progress: StepProgress, done: bool) -> StepProgress:
    """Mark a task step done (or not done again)."""
    # The programme's lock first, as a step's edit takes it: the tick waits for an edit of the step and reads its
    # kind as edited (a task turned into a course step is refused). Then only the person's copy of the step: locking
    # the joined step too, a tick holding the copy and waiting for the step deadlocked with an edit holding the step
    # and locking its copies. The enrolment is locked after, by its completion's refresh, as every completion
    # writer does.
    programme_id = (
        StepProgress.objects.filter(pk=progress.pk).order_by("pk").values_list("step__programme_id", flat=True).first()
    )  # ordered by its key: the model's ordering would join the enrolment for nothing
    if programme_id is not None:
        _lock_programme_id(programme_id)
    progress = (
        StepProgress.objects.select_for_update(of=("self",)).select_related("step", "enrolment").get(pk=progress.pk)
    )
    if not may_tick(actor, progress.enrolment.person_id):
        raise Forbidden(f"Only the person, their manager or sales ops tick “{progress.step.title}”.")
    if progress.step.kind != StepKind.TASK:
        raise DomainError(
            f"“{progress.step.title}” completes by itself ({progress.step.get_kind_display().lower()}).",
            code="automatic",
        )
    if done == (progress.completed_at is not None):
        return progress
    old = progress.completed_at
    progress.completed_at = timezone.now() if done else None
    progress.completed_by = actor if done else None
    if not done:
        progress.reopened_at = timezone.now()
    progress.save(update_fields=["completed_at", "completed_by", "reopened_at"])
    audit_record(actor=actor, instance=progress, action="complete" if done else "reopen",
                 changes={"completed_at": (old, progress.completed_at)})  # fmt: skip
    _refresh_enrolments_done({progress.enrolment_id}, now=timezone.now())
    return progress


def milestones_evaluate(
    *,
    person_ids: Iterable[int] | None = None,
    now: dt.datetime | None = None,
    progress_ids: Iterable[int] | None = None,
) -> int:
    """Evaluate the open CRM milestone steps (of everyone, or of `person_ids`; `progress_ids`: only these copies of
    steps): one pipeline query for the counts, then a bulk update of the values and of the steps reached. Returns
    how many steps completed."""
    now = now or timezone.now()
    rows = StepProgress.objects.filter(step__kind=StepKind.MILESTONE, completed_at__isnull=True)
    if progress_ids is not None:
        rows = rows.filter(id__in=set(progress_ids))
    if person_ids is not None:
        ids = {int(i) for i in person_ids}
        if not ids:
            return 0
        rows = rows.filter(enrolment__person_id__in=ids)
    open_steps = list(
        rows.values_list(
            "id",
            "enrolment_id",
            "enrolment__person_id",
            "enrolment__start_date",
            "step__milestone",
            "step__target",
            "value",
        )
    )
    if not open_steps:
        return 0
    starts: dict[int, dt.date] = {}
    for _, _, person_id, start, *_ in open_steps:
        starts[person_id] = min(start, starts.get(person_id, start))
    # One person may hold enrolments with different start dates: each start is asked separately by group.
    by_start: dict[dt.date, dict[int, dt.date]] = {}
    for _, _, person_id, start, *_ in open_steps:
        by_start.setdefault(start, {})[person_id] = start
    counts: dict[tuple[int, dt.date], MilestoneCounts] = {}
    distinct = {(p, s) for _, _, p, s, *_ in open_steps}
    if len(distinct) == len(starts):
        for person_id, c in pipeline_selectors.milestone_counts(starts).items():
            counts[(person_id, starts[person_id])] = c
    else:
        for start, people in by_start.items():
            for person_id, c in pipeline_selectors.milestone_counts(people).items():
                counts[(person_id, start)] = c
    reached: list[int] = []
    changed: list[StepProgress] = []
    touched: set[int] = set()
    for pk, enrolment_id, person_id, start, milestone, target, old in open_steps:
        c = counts.get((person_id, start), MilestoneCounts())
        value = Decimal(getattr(c, milestone)).quantize(Decimal("0.01"))
        if engine.milestone_reached(value=value, target=target or Decimal(0)):
            reached.append(pk)
            touched.add(enrolment_id)
        if old != value:
            changed.append(StepProgress(pk=pk, value=value))
    with transaction.atomic():
        # The steps written are locked in id order first: the bulk updates below lock them in no set order.
        written = sorted({p.pk for p in changed} | set(reached))
        if written:
            list(StepProgress.objects.select_for_update().filter(id__in=written).order_by("pk").values_list("pk"))
        if changed:
            StepProgress.objects.bulk_update(changed, ["value"], batch_size=2000)
        if reached:
            StepProgress.objects.filter(id__in=reached, completed_at__isnull=True).update(
                completed_at=now, completed_by=None
            )
        _refresh_enrolments_done(touched, now=now)
    return len(reached)
