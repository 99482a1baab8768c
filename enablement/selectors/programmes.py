"""Reads of onboarding programmes: progress per person, checklists, team views, programme lists.

Scope (docs/enablement-programmes.md): sales ops, finance and superusers read everyone's onboarding; a manager
their subtree; a rep only their own. Out of scope reads as missing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import overload

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count, Prefetch, Q, QuerySet

from enablement.engine import programmes as engine
from enablement.models import Enrolment, Programme, ProgrammeStep, StepKind, StepProgress
from salesops.org.models import User
from salesops.org.permissions import may_manage_setup
from salesops.org.selectors import people_visible_to, person_is_in_subtree, sees_everyone, subtree_ids


@dataclass(frozen=True)
class OnboardingProgress:
    """A person's onboarding over all their enrolments: steps, done, overdue, and the next open step by due
    date."""

    person_id: int
    programmes: int
    steps: int
    done: int
    overdue: int
    next_step: str | None
    next_due: dt.date | None


def onboarding_progress(person_ids: Iterable[int], *, today: dt.date) -> dict[int, OnboardingProgress]:
    """Onboarding progress of each person with at least one enrolment (people without one are left out). One
    query."""
    ids = {int(i) for i in person_ids}
    if not ids:
        return {}
    rows = (
        StepProgress.objects.filter(enrolment__person_id__in=ids)
        .order_by("due_on", "step__position", "id")
        .values_list("enrolment__person_id", "enrolment_id", "completed_at", "due_on", "step__title")
    )
    gathered: dict[int, dict[str, object]] = {}
    for person_id, enrolment_id, completed_at, due, title in rows:
        acc = gathered.setdefault(person_id, {"enrolments": set(), "states": [], "next": None})
        acc["enrolments"].add(enrolment_id)  # type: ignore[attr-defined]
        acc["states"].append(engine.StepState(done=completed_at is not None, due=due))  # type: ignore[attr-defined]
        if completed_at is None and acc["next"] is None:
            acc["next"] = (title, due)
    # Enrolments without steps still count as programmes.
    for person_id, enrolment_id in Enrolment.objects.filter(person_id__in=ids).values_list("person_id", "id"):
        gathered.setdefault(person_id, {"enrolments": set(), "states": [], "next": None})
        gathered[person_id]["enrolments"].add(enrolment_id)  # type: ignore[attr-defined]
    result: dict[int, OnboardingProgress] = {}
    for person_id, acc in gathered.items():
        steps, done, overdue = engine.progress_counts(acc["states"], today=today)  # type: ignore[arg-type]
        nxt = acc["next"]
        result[person_id] = OnboardingProgress(
            person_id=person_id,
            programmes=len(acc["enrolments"]),  # type: ignore[arg-type]
            steps=steps,
            done=done,
            overdue=overdue,
            next_step=nxt[0] if nxt else None,  # type: ignore[index]
            next_due=nxt[1] if nxt else None,  # type: ignore[index]
        )
    return result


# ----------------------------------------------------------------------------------------------- pages and API
def may_read_person(user: User, person_id: int) -> bool:
    """Onboarding scope: everyone for sales ops/finance/superusers, a manager's subtree, a rep themself (someone
    placed below a person who holds no manager role stays out of that person's scope, roles.md)."""
    if user.pk == person_id or sees_everyone(user):
        return True
    return bool(user.is_manager) and person_is_in_subtree(root=user, person_id=person_id)


def may_tick(actor: User, person_id: int) -> bool:
    """A task step is ticked by the person, their manager (a manager above them) or sales ops."""
    if actor.pk == person_id or may_manage_setup(actor):
        return True
    return bool(actor.is_manager) and person_is_in_subtree(root=actor, person_id=person_id)


def may_read_team(user: User) -> bool:
    return bool(user.is_manager) or sees_everyone(user)


def people_in_scope_q(user: User, field: str = "person_id") -> Q:
    if sees_everyone(user):
        return Q()
    if not user.is_manager:
        return Q(**{field: user.pk})
    return Q(**{f"{field}__in": {user.pk, *subtree_ids(user)}})


@dataclass(frozen=True)
class ChecklistStep:
    id: int
    title: str
    kind: str
    kind_label: str
    due_on: dt.date
    done: bool
    completed_at: dt.datetime | None
    overdue: bool
    value: Decimal | None
    target: Decimal | None
    may_tick: bool
    milestone: str = ""  # what a milestone step counts ("booked" is an amount; the others are counts)

    @property
    def progress(self) -> str:
        """A milestone's value against its target, for people: "12,500.00 of 50,000.00", "3 of 5"."""
        if self.target is None:
            return ""
        value, target = (engine.milestone_text(self.milestone, v) for v in (self.value or 0, self.target))
        return f"{value} of {target}"


@dataclass(frozen=True)
class Checklist:
    enrolment_id: int
    programme_id: int
    programme: str
    person_id: int
    person: str
    start_date: dt.date
    completed_at: dt.datetime | None
    steps: list[ChecklistStep]

    @property
    def done(self) -> int:
        return sum(1 for s in self.steps if s.done)

    @property
    def overdue(self) -> int:
        return sum(1 for s in self.steps if s.overdue)

    @property
    def percent(self) -> Decimal:
        return engine.percent_done(len(self.steps), self.done)


def checklists(person_id: int, *, viewer: User, today: dt.date, open_only: bool = False) -> list[Checklist]:
    """A person's enrolments with their steps in due order (the viewer's right to tick task steps marked); with
    `open_only`, only the enrolments not yet complete (the home's panel). Two queries."""
    ticks = may_tick(viewer, person_id)
    result = []
    enrolments = Enrolment.objects.filter(person_id=person_id).select_related("programme", "person")
    if open_only:
        enrolments = enrolments.filter(completed_at__isnull=True)
    ordered_steps = StepProgress.objects.select_related("step").order_by("due_on", "step__position", "id")
    enrolments = enrolments.prefetch_related(Prefetch("steps", queryset=ordered_steps))
    for enrolment in enrolments.order_by("start_date", "id"):
        steps = [
            ChecklistStep(
                id=p.pk,
                title=p.step.title,
                kind=p.step.kind,
                kind_label=p.step.get_kind_display(),
                due_on=p.due_on,
                done=p.completed_at is not None,
                completed_at=p.completed_at,
                overdue=engine.is_overdue(done=p.completed_at is not None, due=p.due_on, today=today),
                value=p.value,
                target=p.step.target,
                may_tick=ticks and p.step.kind == StepKind.TASK,
                milestone=p.step.milestone,
            )
            for p in enrolment.steps.all()
        ]
        result.append(
            Checklist(
                enrolment_id=enrolment.pk,
                programme_id=enrolment.programme_id,
                programme=enrolment.programme.name,
                person_id=person_id,
                person=enrolment.person.display_name,
                start_date=enrolment.start_date,
                completed_at=enrolment.completed_at,
                steps=steps,
            )
        )
    return result


@dataclass(frozen=True)
class TeamRow:
    enrolment_id: int
    person_id: int
    person: str
    programme: str
    start_date: dt.date
    steps: int
    done: int
    overdue: int
    next_step: str | None
    next_due: dt.date | None

    @property
    def percent(self) -> Decimal:
        return engine.percent_done(self.steps, self.done)


# The team onboarding page lists at most this many enrolments (in name order).
TEAM_ROWS_CAP = 2000


class TeamRows(Sequence[TeamRow]):
    """The enrolments of a team onboarding page, built only when read: `len()` counts them (one query), a slice
    builds that slice's rows (the page's 100, not 2,000) with their counts summed in the database (two queries)."""

    def __init__(self, enrolments: QuerySet[Enrolment], *, today: dt.date) -> None:
        self._enrolments = enrolments
        self._today = today
        self._count: int | None = None

    def __len__(self) -> int:
        if self._count is None:
            self._count = min(self._enrolments.count(), TEAM_ROWS_CAP)
        return self._count

    @overload
    def __getitem__(self, index: int) -> TeamRow: ...

    @overload
    def __getitem__(self, index: slice) -> list[TeamRow]: ...

    def __getitem__(self, index: int | slice) -> TeamRow | list[TeamRow]:
        if isinstance(index, int):
            return self[index : index + 1][0]
        start, stop, _ = index.indices(len(self))
        return self._rows(start, stop) if start < stop else []

    def __iter__(self) -> Iterator[TeamRow]:
        return iter(self[0 : len(self)])

    def _rows(self, start: int, stop: int) -> list[TeamRow]:
        page = list(self._enrolments[start:stop])
        open_step = Q(completed_at__isnull=True)
        by_due = ("due_on", "step__position", "id")
        counts = {
            row["enrolment_id"]: row
            for row in StepProgress.objects.filter(enrolment_id__in=[e.pk for e in page])
            .order_by()
            .values("enrolment_id")
            .annotate(
                n_steps=Count("id"),
                n_done=Count("id", filter=Q(completed_at__isnull=False)),
                n_overdue=Count("id", filter=open_step & Q(due_on__lt=self._today)),
                open_titles=ArrayAgg("step__title", filter=open_step, order_by=by_due, default=[]),
                open_dues=ArrayAgg("due_on", filter=open_step, order_by=by_due, default=[]),
            )
        }
        rows = []
        for e in page:
            c = counts.get(e.pk, {"n_steps": 0, "n_done": 0, "n_overdue": 0, "open_titles": [], "open_dues": []})
            rows.append(
                TeamRow(
                    enrolment_id=e.pk,
                    person_id=e.person_id,
                    person=e.person.display_name,
                    programme=e.programme.name,
                    start_date=e.start_date,
                    steps=c["n_steps"],
                    done=c["n_done"],
                    overdue=c["n_overdue"],
                    next_step=c["open_titles"][0] if c["open_titles"] else None,
                    next_due=c["open_dues"][0] if c["open_dues"] else None,
                )
            )
        return rows


def team_rows(user: User, *, today: dt.date, include_done: bool = False) -> TeamRows:
    """One row per enrolment in the viewer's scope (a manager: their subtree; sales ops/finance: everyone), the
    first TEAM_ROWS_CAP in name order; rows are built only for the slice read (a page)."""
    enrolments = Enrolment.objects.filter(people_in_scope_q(user)).exclude(person_id=user.pk)
    if not include_done:
        enrolments = enrolments.filter(completed_at__isnull=True)
    enrolments = enrolments.select_related("programme", "person").order_by(
        "person__last_name", "person__first_name", "id"
    )
    return TeamRows(enrolments, today=today)


def team_overdue_steps(user: User, *, today: dt.date) -> int:
    """Overdue steps of the open enrolments in the viewer's scope, the viewer's own left out (the manager home)."""
    return (
        StepProgress.objects.filter(
            people_in_scope_q(user, "enrolment__person_id"),
            completed_at__isnull=True,
            due_on__lt=today,
            enrolment__completed_at__isnull=True,
        )
        .exclude(enrolment__person_id=user.pk)
        .count()
    )


def programmes() -> QuerySet[Programme]:
    """Every programme (everyone reads the catalogue of programmes; enrolments are scoped)."""
    return Programme.objects.select_related("for_team", "for_region").annotate(step_count=Count("steps", distinct=True))


def programme_steps(programme: Programme) -> QuerySet[ProgrammeStep]:
    """A programme's steps in order, with their course and certification (everyone reads them, as the catalogue)."""
    return programme.steps.select_related("course", "certification").order_by("position", "id")


def programme_enrolments(programme: Programme, user: User) -> QuerySet[Enrolment]:
    return (
        Enrolment.objects.filter(people_in_scope_q(user), programme=programme)
        .select_related("person")
        .order_by("person__last_name", "person__first_name", "id")
    )


def step_progress_for(user: User, pk: int) -> StepProgress | None:
    """A step of someone's checklist the user may read (None: missing or out of scope, both 404)."""
    progress = StepProgress.objects.select_related("step", "enrolment").filter(pk=pk).first()
    if progress is None or not may_read_person(user, progress.enrolment.person_id):
        return None
    return progress


def enrolable_people(user: User) -> QuerySet[User]:
    return people_visible_to(user).filter(is_active=True).order_by("last_name", "first_name")
