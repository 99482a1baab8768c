"""Signals views: outbound channels (e-mail, Slack, Teams, signed webhooks), deliveries with retries and their log.

Every page here is sales ops' (docs/roles.md): anyone else gets 403. A channel's URL and secret are never put in
a page: the form says "set" and replaces them only when something new is typed. docs/signals-channels.md."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from salesops.api import DomainError
from salesops.htmx import done, is_htmx, refused
from salesops.org.auth import request_user
from salesops.org.models import Team, User
from salesops.org.permissions import may_manage_setup
from signals.models import Channel, ChannelKind, Delivery, DeliveryStatus
from signals.selectors import channels as selectors
from signals.services import channels as services

DELIVERIES_PER_PAGE = 50


def _ops(request: HttpRequest) -> User:
    user = request_user(request)
    if not may_manage_setup(user):
        raise PermissionDenied("Channels and the delivery log are sales ops'.")
    return user


def _id(raw: str | None) -> int | None:
    """A form's id in ASCII digits, at most 9 of them; anything else: None."""
    raw = (raw or "").strip()
    return int(raw) if re.fullmatch(r"[0-9]{1,9}", raw) and int(raw) else None


def _values(request: HttpRequest) -> dict[str, Any]:
    post = request.POST
    return {
        "name": post.get("name", ""),
        "addresses": post.get("addresses", ""),
        "url": post.get("url", ""),
        "secret": post.get("secret", ""),
        "team_id": _id(post.get("team")),
        "is_default": post.get("is_default") == "on",
        "is_active": post.get("is_active") == "on",
    }


def _form_context(channel: Channel | None, *, values: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "channel": channel,
        "kinds": ChannelKind.choices,
        "teams": Team.objects.order_by("name"),
        # Typed values are shown again after an error, except the URL and the secret (never echoed).
        "values": {k: v for k, v in (values or {}).items() if k not in ("url", "secret")},
    }


@login_required
def channel_list(request: HttpRequest) -> HttpResponseBase:
    """Every channel with its delivery counts; sales ops add one with the form below the list."""
    user = _ops(request)
    values: dict[str, Any] | None = None
    kind = ""
    if request.method == "POST":
        values = _values(request)
        kind = request.POST.get("kind", "")
        try:
            channel = services.channel_create(actor=user, kind=kind, **values)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Channel “{channel.name}” added.")
            return redirect("signals:channel_list")
    context = {"channels": selectors.channel_list(), "new_kind": kind, **_form_context(None, values=values)}
    return render(request, "signals/channels/channel_list.html", context, status=400 if values else 200)


@login_required
def channel_edit(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Change a channel: a blank URL or secret keeps the stored one."""
    user = _ops(request)
    channel = get_object_or_404(Channel.objects.select_related("team"), pk=pk)
    values: dict[str, Any] | None = None
    if request.method == "POST":
        values = _values(request)
        try:
            services.channel_update(actor=user, channel_id=channel.pk, **values)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Channel “{values['name'].strip()}” saved.")
            return redirect("signals:channel_edit", pk=pk)
    recent = list(selectors.delivery_log(channel_id=channel.pk)[:10])
    context = {"recent": recent, **_form_context(channel, values=values)}
    return render(request, "signals/channels/channel_edit.html", context, status=400 if values else 200)


@login_required
@require_POST
def channel_delete(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _ops(request)
    channel = get_object_or_404(Channel, pk=pk)
    services.channel_delete(actor=user, channel_id=channel.pk)
    messages.success(request, f"Channel “{channel.name}” deleted; its deliveries stay in the log.")
    return redirect("signals:channel_list")


@login_required
@require_POST
def channel_test(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Queue a test message; with HTMX the answer is the delivery's row (it refreshes itself until done)."""
    user = _ops(request)
    channel = get_object_or_404(Channel, pk=pk)
    try:
        delivery = services.channel_send_test(actor=user, channel_id=channel.pk)
    except DomainError as error:
        return refused(request, error.message, reverse("signals:channel_edit", args=[pk]))
    return done(
        request,
        fragment="signals/channels/partials/test_queued.html",
        context=_row_context(delivery),
        message=f"Test message queued (delivery {delivery.pk}).",
        back_to=f"{reverse('signals:delivery_list')}?channel={channel.pk}",
    )


def _row_context(delivery: Delivery) -> dict[str, Any]:
    return {"d": delivery, "attempts": selectors.delivery_attempts([delivery.pk])[delivery.pk]}


@login_required
def delivery_list(request: HttpRequest) -> HttpResponse:
    """The delivery log, newest first, filtered by channel and status, 50 a page."""
    _ops(request)
    channel_id = _id(request.GET.get("channel"))
    status = request.GET.get("status", "")
    if status not in DeliveryStatus.values:
        status = ""
    page = Paginator(selectors.delivery_log(channel_id=channel_id, status=status), DELIVERIES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    query = "&".join(
        part for part in (f"channel={channel_id}" if channel_id else "", f"status={status}" if status else "") if part
    )
    context = {
        "page": page,
        "deliveries": page.object_list,
        "channels": Channel.objects.order_by("name").values_list("pk", "name"),
        "statuses": DeliveryStatus.choices,
        "channel_id": channel_id,
        "status": status,
        "query": query,
    }
    return render(request, "signals/channels/delivery_list.html", context)


@login_required
def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One delivery with every attempt; with HTMX, its log row (the row polls this while it is waiting)."""
    _ops(request)
    delivery = Delivery.objects.select_related("channel", "person").filter(pk=pk).first()
    if delivery is None:
        raise Http404("No such delivery.")
    if is_htmx(request):
        return render(request, "signals/channels/partials/delivery_row.html", _row_context(delivery))
    return render(request, "signals/channels/delivery_detail.html", _row_context(delivery))


@login_required
@require_POST
def delivery_retry(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _ops(request)
    delivery = get_object_or_404(Delivery, pk=pk)
    try:
        delivery = services.delivery_retry(actor=user, delivery_id=delivery.pk)
    except DomainError as error:
        return refused(request, error.message, reverse("signals:delivery_detail", args=[pk]))
    return done(
        request,
        fragment="signals/channels/partials/delivery_row.html",
        context=_row_context(delivery),
        message=f"Delivery {delivery.pk} queued again.",
        back_to=reverse("signals:delivery_detail", args=[pk]),
    )
