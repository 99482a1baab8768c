"""Onboarding pages: My onboarding, Team onboarding, a person's checklist, programmes (sales ops edit steps and
enrol by hand). Scope: docs/enablement-programmes.md."""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from enablement.models import (
    Certification,
    Course,
    Enrolment,
    Milestone,
    Programme,
    ProgrammeStep,
    StepKind,
    TargetRole,
)
from enablement.selectors import programmes as selectors
from enablement.services import programmes as services
from salesops.api import DomainError
from salesops.org.auth import request_user
from salesops.org.models import Region, Team
from salesops.org.permissions import may_manage_setup

# Team onboarding rows and a programme's enrolments are listed 100 a page (`?page=`), as the ramp page's reps.
ROWS_PER_PAGE = 100


@login_required
def my_onboarding(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    today = timezone.localdate()
    return render(request, "enablement/programmes/my_onboarding.html",
                  {"checklists": selectors.checklists(user.pk, viewer=user, today=today), "today": today})  # fmt: skip


@login_required
def person_onboarding(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    if not selectors.may_read_person(user, pk):
        raise Http404("No such person.")
    today = timezone.localdate()
    lists = selectors.checklists(pk, viewer=user, today=today)
    if not lists and pk != user.pk:
        raise Http404("No onboarding for this person.")
    return render(request, "enablement/programmes/my_onboarding.html",
                  {"checklists": lists, "today": today, "someone": lists[0].person if lists else ""})  # fmt: skip


@login_required
def team_onboarding(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not selectors.may_read_team(user):
        raise PermissionDenied("Team onboarding is for managers, finance and sales ops.")
    include_done = request.GET.get("done") == "1"
    rows = selectors.team_rows(user, today=timezone.localdate(), include_done=include_done)
    page = Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "enablement/programmes/team_onboarding.html",
                  {"rows": page.object_list, "page": page, "include_done": include_done,
                   "everyone": selectors.sees_everyone(user)})  # fmt: skip


@login_required
@require_POST
def step_toggle(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = request_user(request)
    progress = selectors.step_progress_for(user, pk)
    if progress is None:
        raise Http404("No such step.")
    try:
        services.step_progress_set(actor=user, progress=progress, done=request.POST.get("done") == "1")
    except DomainError as error:
        if error.status_code == 403:
            raise PermissionDenied(error.message) from error
        messages.error(request, error.message)
    person_id = progress.enrolment.person_id
    if person_id == user.pk:
        return redirect("enablement:my_onboarding")
    return redirect("enablement:person_onboarding", pk=person_id)


def _id(raw: str | None, *, zero: bool = False) -> int | None:
    """A form's id (or count) in ASCII digits, at most 9 of them; anything else (a '²', a 20-digit number): None."""
    raw = (raw or "").strip()
    if not re.fullmatch(r"[0-9]{1,9}", raw):
        return None
    value = int(raw)
    return value if value or zero else None


def _programme_values(request: HttpRequest) -> dict[str, object]:
    """The programme form's values. A team, region or role given that names none (one deleted meanwhile, an odd
    id) is refused naming it: read as "any", it would widen the programme to everyone."""
    found: dict[str, object] = {}
    for field, model, what in (("for_team", Team, "team"), ("for_region", Region, "region")):
        raw = (request.POST.get(field) or "").strip()
        key = _id(raw)
        found[field] = model.objects.filter(pk=key).first() if key else None
        if raw and found[field] is None:
            shown = raw if len(raw) <= 20 else f"{raw[:20]}…"
            raise DomainError(f"No such {what} {shown!r}: choose one from the list, or none for any {what}.")
    role = (request.POST.get("for_role") or "").strip()
    if role and role not in TargetRole.values:
        raise DomainError(f"No such role {role[:20]!r}: choose one from the list, or none for any role.")
    return {
        "description": request.POST.get("description", "").strip(),
        "for_role": role,
        **found,
        # Checkboxes: an unticked box is not sent at all, so absent means off (it read as on, and "Active"
        # could never be unticked on the page).
        "auto_assign": request.POST.get("auto_assign") == "on",
        "is_active": request.POST.get("is_active") == "on",
    }


@login_required
def programme_list(request: HttpRequest) -> HttpResponseBase:
    user = request_user(request)
    writes = may_manage_setup(user)
    if request.method == "POST":
        if not writes:
            raise PermissionDenied("Only sales ops create programmes.")
        try:
            programme = services.programme_create(actor=user, name=request.POST.get("name", ""),
                                                  **_programme_values(request))  # type: ignore[arg-type]  # fmt: skip
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("enablement:programme_list")
        messages.success(request, f"Programme “{programme.name}” created.")
        return redirect("enablement:programme_detail", pk=programme.pk)
    return render(request, "enablement/programmes/programme_list.html",
                  {"programmes": selectors.programmes(), "writes": writes, **_choices()})  # fmt: skip


def _choices() -> dict[str, object]:
    return {
        "roles": TargetRole.choices,
        "teams": Team.objects.order_by("name"),
        "regions": Region.objects.order_by("name"),
    }


@login_required
def programme_detail(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = request_user(request)
    programme = get_object_or_404(Programme, pk=pk)
    writes = may_manage_setup(user)
    if request.method == "POST":
        if not writes:
            raise PermissionDenied("Only sales ops change programmes.")
        try:
            services.programme_update(actor=user, programme=programme, name=request.POST.get("name", programme.name),
                                      **_programme_values(request))  # type: ignore[arg-type]  # fmt: skip
            messages.success(request, "Programme saved.")
        except DomainError as error:
            messages.error(request, error.message)
        return redirect("enablement:programme_detail", pk=pk)
    context = {
        "programme": programme,
        "steps": selectors.programme_steps(programme),
        "enrolments": Paginator(selectors.programme_enrolments(programme, user), ROWS_PER_PAGE).get_page(
            request.GET.get("page")
        ),
        "writes": writes,
        "kinds": StepKind.choices,
        "milestones": Milestone.choices,
        **_choices(),
    }
    if writes:
        context |= {"courses": Course.objects.all(), "certifications": Certification.objects.all(),
                    "people": selectors.enrolable_people(user)}  # fmt: skip
    return render(request, "enablement/programmes/programme_detail.html", context)


def _ops(request: HttpRequest) -> object:
    user = request_user(request)
    if not may_manage_setup(user):
        raise PermissionDenied("Only sales ops change programmes.")
    return user


@login_required
@require_POST
def step_add(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _ops(request)
    programme = get_object_or_404(Programme, pk=pk)
    course = _id(request.POST.get("course"))
    cert = _id(request.POST.get("certification"))
    days = _id(request.POST.get("due_days"), zero=True)
    try:
        services.step_add(
            actor=user, programme=programme, title=request.POST.get("title", ""),  # type: ignore[arg-type]
            kind=request.POST.get("kind", ""), due_days=days if days is not None else -1,
            course=Course.objects.filter(pk=course).first() if course else None,
            certification=Certification.objects.filter(pk=cert).first() if cert else None,
            milestone=request.POST.get("milestone", ""), target=request.POST.get("target") or None,
        )  # fmt: skip
        messages.success(request, "Step added.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("enablement:programme_detail", pk=pk)


@login_required
@require_POST
def step_delete(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _ops(request)
    step = get_object_or_404(ProgrammeStep, pk=pk)
    services.step_delete(actor=user, step=step)  # type: ignore[arg-type]
    messages.success(request, f"Step “{step.title}” removed.")
    return redirect("enablement:programme_detail", pk=step.programme_id)


@login_required
@require_POST
def enrol(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _ops(request)
    programme = get_object_or_404(Programme, pk=pk)
    raw = _id(request.POST.get("person"))
    person = selectors.enrolable_people(user).filter(pk=raw).first() if raw else None  # type: ignore[arg-type]
    if person is None:
        messages.error(request, "Choose a person to enrol.")
        return redirect("enablement:programme_detail", pk=pk)
    try:
        services.enrolment_create(actor=user, programme=programme, person=person)  # type: ignore[arg-type]
        messages.success(request, f"{person.display_name} enrolled.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("enablement:programme_detail", pk=pk)


@login_required
@require_POST
def enrolment_delete(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _ops(request)
    enrolment = get_object_or_404(Enrolment, pk=pk)
    services.enrolment_delete(actor=user, enrolment=enrolment)  # type: ignore[arg-type]
    messages.success(request, "Enrolment removed.")
    return redirect("enablement:programme_detail", pk=enrolment.programme_id)
