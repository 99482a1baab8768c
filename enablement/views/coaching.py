"""1:1 pages: the list (a manager's reports with their last and next 1:1; a report's own 1:1s), a pair's page
(its meetings; the manager schedules the next one there) and a meeting's page (the agenda, the notes, the action
items with those carried over), with HTMX fragments for the notes and the action items.

Privacy (docs/enablement-coaching.md): only the 1:1's manager and report open any of it. Everyone else, sales ops
and the manager's own manager included, gets the answer of a missing 1:1: 404.
"""

from __future__ import annotations

import datetime as dt
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from enablement.models import OneOnOne
from enablement.selectors import coaching as selectors
from enablement.services import coaching as services
from salesops.api import DomainError, Forbidden
from salesops.htmx import is_htmx
from salesops.org.auth import request_user
from salesops.org.models import User

MISSING = "No such 1:1."


def _meeting(user: User, pk: int) -> OneOnOne:
    meeting = selectors.one_on_one_for(user, pk)
    if meeting is None:
        raise Http404(MISSING)
    return meeting


def _date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


@login_required
def one_on_ones(request: HttpRequest) -> HttpResponse:
    """A manager: their direct reports with the last and next 1:1; anyone with a manager: their own 1:1s."""
    user = request_user(request)
    today = timezone.localdate()
    mine = list(selectors.one_on_ones_of(user).filter(report_id=user.pk)[:50])
    return render(
        request,
        "enablement/coaching/list.html",
        {
            "rows": selectors.report_rows(user, today=today),
            "mine": mine,
            "me": user,
            "today": today,
        },
    )


@login_required
def one_on_one_pair(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The pair's 1:1s (pk: the report's person id). POST: the manager schedules one (a direct report only)."""
    user = request_user(request)
    if request.method == "POST" and not selectors.is_direct_report(user, pk):
        # Refused before anything is looked up: the same 403 for anyone who is not the person's manager,
        # whether the pair exists, the person exists or not (no oracle).
        return HttpResponse(services.NOT_YOUR_REPORT, status=403)
    pair = selectors.pair_for(user, pk)
    if pair is None:
        raise Http404(MISSING)
    status = 200
    if request.method == "POST":
        held_on = _date(request.POST.get("held_on"))
        if held_on is None:
            messages.error(request, "Pick the day of the 1:1.")
            status = 400
        else:
            try:
                meeting = services.one_on_one_create(actor=user, report_id=pk, held_on=held_on)
            except Forbidden as error:
                return HttpResponse(error.message, status=403)
            except DomainError as error:
                messages.error(request, error.message)
                status = 400
            else:
                return redirect("enablement:one_on_one", pk=meeting.pk)
    today = timezone.localdate()
    meetings = list(selectors.pair_meetings(user, pair)[:100])
    for meeting in meetings:
        meeting.saved = meeting.agenda.get("items") is not None  # type: ignore[attr-defined]
    return render(
        request,
        "enablement/coaching/pair.html",
        {
            "pair": pair,
            "meetings": meetings,
            "today": today,
            "suggested": today + dt.timedelta(days=7),
        },
        status=status,
    )


def _meeting_context(user: User, meeting: OneOnOne) -> dict[str, object]:
    today, now = timezone.localdate(), timezone.now()
    frozen, agenda = selectors.shown_agenda(meeting, today=today, now=now)
    items = selectors.meeting_items(meeting)
    built_on = meeting.agenda.get("built_on") if frozen else None
    return {
        "meeting": meeting,
        "frozen": frozen,
        # The day the saved agenda's numbers are of: a 1:1 saved after its day keeps the numbers of the save.
        "built_on": dt.date.fromisoformat(built_on) if isinstance(built_on, str) else None,
        "agenda": agenda,
        "agreed": items.agreed,
        "carried": items.carried,
        "as_manager": user.pk == meeting.manager_id,
        "today": today,
    }


@login_required
def one_on_one(request: HttpRequest, pk: int) -> HttpResponse:
    """A meeting: the agenda (live until the 1:1 is saved, then as it stood), the notes, the action items. An
    HTMX request gets the meeting's body alone (the agenda refreshed)."""
    user = request_user(request)
    meeting = _meeting(user, pk)
    template = (
        "enablement/coaching/partials/meeting_body.html" if is_htmx(request) else "enablement/coaching/meeting.html"
    )
    return render(request, template, _meeting_context(user, meeting))


@login_required
@require_POST
def one_on_one_notes(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = request_user(request)
    meeting = _meeting(user, pk)
    status = 200
    try:
        services.one_on_one_notes_save(actor=user, one_on_one=meeting, notes=request.POST.get("notes", ""))
    except DomainError as error:
        messages.error(request, error.message)
        status = 400
    if is_htmx(request):
        return render(
            request,
            "enablement/coaching/partials/notes.html",
            {**_meeting_context(user, meeting), "saved": status == 200},
            status=status,
        )
    if status == 200:
        messages.success(request, "Notes saved.")
    return redirect("enablement:one_on_one", pk=meeting.pk)


@login_required
@require_POST
def one_on_one_save(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = request_user(request)
    meeting = _meeting(user, pk)
    try:
        services.one_on_one_save(actor=user, one_on_one=meeting, today=timezone.localdate(), now=timezone.now())
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "1:1 saved: its agenda is kept as it stands today.")
    return redirect("enablement:one_on_one", pk=meeting.pk)


@login_required
@require_POST
def one_on_one_actions(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Add an action item to the meeting."""
    user = request_user(request)
    meeting = _meeting(user, pk)
    status = 200
    try:
        services.action_item_add(
            actor=user,
            one_on_one=meeting,
            text=request.POST.get("text", ""),
            owner=request.POST.get("owner") or None,
            due_on=_date(request.POST.get("due_on")),
        )
    except DomainError as error:
        messages.error(request, error.message)
        status = 400
    if is_htmx(request):
        return render(
            request, "enablement/coaching/partials/actions.html", _meeting_context(user, meeting), status=status
        )
    return redirect("enablement:one_on_one", pk=meeting.pk)


@login_required
@require_POST
def action_item_done(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Mark an action item done (or open again: done=0), from the meeting it is shown in (`meeting`)."""
    user = request_user(request)
    item = selectors.action_item_for(user, pk)
    if item is None:
        raise Http404("No such action item.")
    shown_in = request.POST.get("meeting", "")
    # ASCII digits only: str.isdigit() accepts '²', which int() refuses.
    meeting = selectors.one_on_one_for(user, int(shown_in)) if re.fullmatch(r"[0-9]{1,12}", shown_in) else None
    try:
        services.action_item_set_done(
            actor=user, item=item, done=request.POST.get("done", "1") != "0", in_meeting=meeting
        )
    except DomainError as error:
        messages.error(request, error.message)
    target = meeting or item.one_on_one
    if is_htmx(request):
        return render(request, "enablement/coaching/partials/actions.html", _meeting_context(user, target))
    return redirect("enablement:one_on_one", pk=target.pk)
