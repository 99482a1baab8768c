"""The signals entry page: what each role can open (notifications, rules, channels, marketing, lead hand-off,
win/loss, reconciliation), each area's own pages doing the work."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from salesops.org.areas import area_links
from salesops.org.auth import request_user
from salesops.org.permissions import may_manage_setup

# (label, URL name, what it is for, audience: salesops.org.areas)
AREAS = [
    ("Notifications", "signals:notification_list", "What the hub has told you; mark as read.", "all"),
    ("Notification settings", "signals:preferences", "Which kinds reach you, and where.", "all"),
    ("Rules", "signals:rule_list", "Alerts and actions on deals, schedules and KPIs.", "ops"),
    ("Channels", "signals:channel_list", "E-mail, Slack, Teams and webhooks, with their delivery log.", "ops"),
    ("Campaigns", "signals:campaign_list", "Campaigns, members and touches on deals.", "all"),
    ("Attribution", "signals:attribution", "Sourced and influenced pipeline and bookings per campaign.", "managers"),
    ("Lead response", "signals:lead_response", "Response times by source, owner and team against the SLA.", "all"),
    ("Win/loss", "signals:winloss", "Why deals are won and lost: reasons, competitors, product gaps.", "all"),
    ("Reconciliation", "signals:reconciliation_list", "Bookings against invoices, every mismatch listed.", "finance"),
]


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    areas = area_links(user, AREAS)
    return render(request, "signals/home.html", {"areas": areas, "writes": may_manage_setup(user)})
