"""Signals views: the notification centre (bell, list, mark read) and each person's preferences per kind and channel.

Everything here is the signed-in person's own (docs/roles.md): another person's notification answers 404 on its
page, its fragments and the API, exactly like an id that does not exist.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from salesops import formats
from salesops.api import DomainError
from salesops.htmx import is_htmx
from salesops.org.auth import request_user
from signals.models import CHANNELS, Kind, Notification
from signals.selectors import notifications as selectors
from signals.services import notifications as services

MISSING = "No such notification."
BODY_SHOWN = 300  # characters of a body the list shows (its page shows it whole)
# Sent with every answer that changes what is unread (for any script that cares); the answer itself carries the
# header's bell, counted again, swapped in out of band.
CHANGED = "notifications-changed"


def _own(request: HttpRequest, pk: int) -> Notification:
    found = selectors.notification_of(request_user(request), pk)
    if found is None:
        raise Http404(MISSING)
    return found


def ago(moment: dt.datetime, now: dt.datetime) -> str:
    """When, as people say it: "just now", "5 minutes ago", "3 hours ago", "yesterday", "4 days ago", then the day."""
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        n = seconds // 60
        return f"{n} minute{'s' if n != 1 else ''} ago"
    if seconds < 86400:
        n = seconds // 3600
        return f"{n} hour{'s' if n != 1 else ''} ago"
    days = (timezone.localtime(now).date() - timezone.localtime(moment).date()).days
    if days <= 1:
        return "yesterday"
    return f"{days} days ago" if days < 7 else formats.day(timezone.localtime(moment).date())


def _addressed(notes: list[Notification]) -> list[Notification]:
    """Each row's addresses (read, open, its page), reversed once for the page, its kind's label and when it came,
    worked out here rather than by template tags: a page of 50 spent half its time in `{% url %}`, `naturaltime`
    and translated labels."""
    detail = reverse("signals:notification_detail", args=[0])[: -len("0/")]
    labels, now = dict(Kind.choices), timezone.now()
    for note in notes:
        here = f"{detail}{note.pk}/"
        note.detail_url, note.read_url, note.open_url = here, f"{here}read/", f"{here}open/"  # type: ignore[attr-defined]
        note.kind_label, note.when = str(labels.get(note.kind, note.kind)), ago(note.created_at, now)  # type: ignore[attr-defined]
        body = note.body or ""
        note.short_body = body if len(body) <= BODY_SHOWN else body[: BODY_SHOWN - 1].rstrip() + "…"  # type: ignore[attr-defined]
    return notes


def _changed(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """An htmx answer that changed what is unread: the header's bell comes with it (hx-swap-oob), counted anew."""
    selectors.forget_unread(request_user(request).pk)
    bell = render_to_string("signals/notifications/partials/bell.html", {"oob": True}, request=request)
    response.content = response.content + bell.encode()
    response["HX-Trigger"] = CHANGED
    return response


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    """The person's notifications, unread first, newest first, 50 a page; `?show=unread` for the unread only."""
    user = request_user(request)
    unread_only = request.GET.get("show") == "unread"
    page = Paginator(selectors.notifications_of(user, unread_only=unread_only), selectors.PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "rows": _addressed(list(page.object_list)),
        "unread_only": unread_only,
        "unread": selectors.unread_count(user.pk),
    }
    template = "signals/notifications/partials/list.html" if is_htmx(request) else "signals/notifications/list.html"
    return render(request, template, context)


@login_required
@require_GET
def notification_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One notification in full (its row as a fragment for htmx)."""
    note = _own(request, pk)
    if is_htmx(request):
        return render(request, "signals/notifications/partials/row.html", {"note": _addressed([note])[0]})
    return render(request, "signals/notifications/detail.html", {"note": note})


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Mark one read (`read=0`: unread again); htmx gets the row back and the bell counts again."""
    user = request_user(request)
    note = _own(request, pk)
    note = services.notification_mark_read(person=user, notification_id=note.pk, read=request.POST.get("read") != "0")
    selectors.forget_unread(user.pk)
    if is_htmx(request):
        return _changed(
            request, render(request, "signals/notifications/partials/row.html", {"note": _addressed([note])[0]})
        )
    return redirect("signals:notification_list")


@login_required
@require_POST
def notification_open(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Open what a notification is about, marking it read on the way."""
    user = request_user(request)
    note = _own(request, pk)
    services.notification_mark_read(person=user, notification_id=note.pk)
    target = note.url if note.url and url_has_allowed_host_and_scheme(note.url, allowed_hosts=None) else ""
    return redirect(target or reverse("signals:notification_detail", args=[note.pk]))


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponseBase:
    user = request_user(request)
    services.notification_mark_all_read(person=user)
    selectors.forget_unread(user.pk)
    if is_htmx(request):
        return _changed(request, notification_list_fragment(request))
    return redirect("signals:notification_list")


def notification_list_fragment(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    page = Paginator(selectors.notifications_of(user), selectors.PAGE_SIZE).get_page(1)
    context = {"page": page, "rows": _addressed(list(page.object_list)), "unread_only": False, "unread": 0}
    return render(request, "signals/notifications/partials/list.html", context)


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    """The grid of kinds × channels. A POST switches one cell (htmx: the cell comes back)."""
    user = request_user(request)
    if request.method == "POST":
        kind, channel = request.POST.get("kind", ""), request.POST.get("channel", "")
        on = request.POST.get("on") == "1"
        try:
            services.preference_set(person=user, kind=kind, channel=channel, on=on)
        except DomainError as exc:
            return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
        if is_htmx(request):
            cell = {"cell_kind": kind, "cell_channel": channel, "cell_label": selectors.CHANNEL_LABELS[channel],
                    "cell_on": on, "kind_label": Kind(kind).label}  # fmt: skip
            return render(request, "signals/notifications/partials/preference_switch.html", cell)
        return redirect("signals:preferences")
    grid = selectors.preference_grid(user)
    columns = [selectors.CHANNEL_LABELS[c] for c in CHANNELS]
    return render(request, "signals/notifications/preferences.html", {"grid": grid, "columns": columns})
