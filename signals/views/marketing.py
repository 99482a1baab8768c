"""Marketing pages: campaigns (everyone reads; sales ops write campaigns, members, touches and member imports) and
the attribution report with its chart and CSV export (managers over their subtree's deals, finance and sales ops
over every deal; reps 403). docs/signals-marketing.md."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from pipeline.selectors import marketing as pipeline_reads
from salesops import charts
from salesops.api import DomainError
from salesops.exports import csv_response, ratio
from salesops.kernel.ids import is_id
from salesops.kernel.money import format_size
from salesops.org.auth import request_user
from salesops.org.models import User
from salesops.org.permissions import may_manage_setup
from signals.models import Campaign, CampaignMember, CampaignStatus, CampaignTouch, CampaignType, MemberStatus
from signals.selectors import marketing as selectors
from signals.services import marketing as services

ROWS_PER_PAGE = 100


def _id(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if re.fullmatch(r"[0-9]{1,12}", raw) and int(raw) else None


def _date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


def _ops(request: HttpRequest) -> User:
    user = request_user(request)
    if not may_manage_setup(user):
        raise PermissionDenied("Only sales ops change campaigns, their members and touches.")
    return user


def _owners() -> Any:
    return User.objects.filter(is_active=True).order_by("first_name", "last_name")


def _campaign_values(request: HttpRequest) -> dict[str, Any]:
    owner_id = _id(request.POST.get("owner"))
    start, end = _date(request.POST.get("start_date")), _date(request.POST.get("end_date"))
    if start is None or end is None:
        raise DomainError("A campaign needs a start and an end date.", field="start_date")
    return {
        "name": request.POST.get("name", ""),
        "type": request.POST.get("type", ""),
        "status": request.POST.get("status", ""),
        "start_date": start,
        "end_date": end,
        "cost": request.POST.get("cost", "0"),
        "owner": _owners().filter(pk=owner_id).first() if owner_id else None,
        "description": request.POST.get("description", "").strip(),
    }


def _form_choices() -> dict[str, Any]:
    return {"types": CampaignType.choices, "statuses": CampaignStatus.choices, "owners": _owners()}


@login_required
def campaign_list(request: HttpRequest) -> HttpResponseBase:
    user = request_user(request)
    writes = may_manage_setup(user)
    if request.method == "POST":
        if not writes:
            raise PermissionDenied("Only sales ops create campaigns.")
        try:
            campaign = services.campaign_create(actor=user, **_campaign_values(request))
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("signals:campaign_list")
        messages.success(request, f"Campaign “{campaign.name}” created.")
        return redirect("signals:campaign_detail", pk=campaign.pk)
    page = Paginator(selectors.campaigns(), ROWS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"campaigns": page.object_list, "page": page, "writes": writes,
               "attribution": selectors.may_read_attribution(user), "today": timezone.localdate(),
               **(_form_choices() if writes else {})}  # fmt: skip
    return render(request, "signals/marketing/campaign_list.html", context)


@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = request_user(request)
    campaign = get_object_or_404(Campaign.objects.select_related("owner"), pk=pk)
    writes = may_manage_setup(user)
    if request.method == "POST":
        if not writes:
            raise PermissionDenied("Only sales ops change campaigns.")
        try:
            services.campaign_update(actor=user, campaign=campaign, **_campaign_values(request))
            messages.success(request, "Campaign saved.")
        except DomainError as error:
            messages.error(request, error.message)
        return redirect("signals:campaign_detail", pk=pk)
    # Members and touches name leads, contacts and deals: each is listed only to those who may see it.
    member_rows = selectors.members_visible_to(user, campaign).order_by("id")
    touch_rows = selectors.touches_visible_to(user, campaign).order_by("-touched_at", "-id")
    members = Paginator(member_rows, ROWS_PER_PAGE).get_page(request.GET.get("members"))
    touches = Paginator(touch_rows, ROWS_PER_PAGE).get_page(request.GET.get("touches"))
    context = {
        "campaign": campaign,
        "writes": writes,
        "members": selectors.member_rows(campaign, list(members.object_list)),
        "members_page": members,
        "member_counts": selectors.member_counts(campaign),
        "all_touches": campaign.touches.count(),
        "touches": selectors.touch_rows(list(touches.object_list)),
        "touches_page": touches,
        "today": timezone.localdate(),
        "member_statuses": MemberStatus.choices,
        **(_form_choices() if writes else {}),
    }
    return render(request, "signals/marketing/campaign_detail.html", context)


@login_required
@require_POST
def campaign_delete(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _ops(request)
    campaign = get_object_or_404(Campaign, pk=pk)
    services.campaign_delete(actor=user, campaign=campaign)
    messages.success(request, f"Campaign “{campaign.name}” removed with its members and touches.")
    return redirect("signals:campaign_list")


@login_required
@require_POST
def member_add(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _ops(request)
    campaign = get_object_or_404(Campaign, pk=pk)
    email = request.POST.get("email", "").replace("\x00", "").strip().lower()[:254]
    found = pipeline_reads.people_by_email([email]).get(email) if email else None
    if not found:
        messages.error(request, f"No lead or contact has the e-mail address “{email}”." if email else
                       "Type the e-mail address of a lead or a contact.")  # fmt: skip
        return redirect("signals:campaign_detail", pk=pk)
    person = found[0]
    try:
        services.member_add(
            actor=user, campaign=campaign, status=request.POST.get("status", "sent"),
            responded_at=_date(request.POST.get("responded_at")),
            lead_id=person.id if person.kind == "lead" else None,
            contact_id=person.id if person.kind == "contact" else None,
        )  # fmt: skip
        messages.success(request, f"{person.name or email} added to the campaign.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("signals:campaign_detail", pk=pk)


@login_required
@require_POST
def member_remove(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _ops(request)
    member = get_object_or_404(CampaignMember, pk=pk)
    services.member_remove(actor=user, member=member)
    messages.success(request, "Member removed.")
    return redirect("signals:campaign_detail", pk=member.campaign_id)


@login_required
@require_POST
def member_respond(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Marks a member as responded today (or sent again)."""
    user = _ops(request)
    member = get_object_or_404(CampaignMember, pk=pk)
    responded = request.POST.get("status") == MemberStatus.RESPONDED
    try:
        services.member_update(actor=user, member=member, status=request.POST.get("status", "sent"),
                               responded_at=timezone.now() if responded else None)  # fmt: skip
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("signals:campaign_detail", pk=member.campaign_id)


@login_required
def member_import(request: HttpRequest) -> HttpResponseBase:
    user = _ops(request)
    result = None
    file_name = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, "Choose a CSV or XLSX file to import.")
        else:
            file_name = upload.name or "members.csv"
            try:
                if (upload.size or 0) > services.IMPORT_MAX_BYTES:
                    raise DomainError(f"“{file_name}” is over {format_size(services.IMPORT_MAX_BYTES)}.", field="file")
                result = services.member_import(actor=user, file_name=file_name, content=upload.read())
            except DomainError as error:
                messages.error(request, error.message)
            else:
                if result.ok:
                    messages.success(request, f"{file_name}: {result.created:,} members added, "
                                     f"{result.updated:,} updated, {result.unchanged:,} unchanged.")  # fmt: skip
    return render(request, "signals/marketing/member_import.html",
                  {"result": result, "file_name": file_name, "campaigns": selectors.campaign_choices()})  # fmt: skip


@login_required
@require_POST
def touch_add(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _ops(request)
    campaign = get_object_or_404(Campaign, pk=pk)
    deal_id = _id(request.POST.get("deal"))
    day = _date(request.POST.get("touched_at"))
    if deal_id is None or day is None:
        messages.error(request, "Choose a deal and the day the campaign touched it.")
        return redirect("signals:campaign_detail", pk=pk)
    try:
        services.touch_add(actor=user, campaign=campaign, deal_id=deal_id, touched_at=day)
        messages.success(request, "Touch added.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("signals:campaign_detail", pk=pk)


@login_required
@require_POST
def touch_remove(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _ops(request)
    touch = get_object_or_404(CampaignTouch, pk=pk)
    services.touch_remove(actor=user, touch=touch)
    messages.success(request, "Touch removed.")
    return redirect("signals:campaign_detail", pk=touch.campaign_id)


@login_required
def deal_search(request: HttpRequest) -> HttpResponse:
    """The HTMX fragment of the touch form: deals matching the typed text, as options."""
    user = _ops(request)
    picks = pipeline_reads.deal_picks(user, query=request.GET.get("q", "")[:80], limit=30)
    return render(request, "signals/marketing/partials/deal_options.html", {"picks": picks})


# ------------------------------------------------------------------------------------------------ attribution
def _report(request: HttpRequest) -> selectors.Report:
    user = request_user(request)
    if not selectors.may_read_attribution(user):
        raise PermissionDenied("Attribution is for managers, finance and sales ops.")
    today = timezone.localdate()
    years = selectors.report_years(today)
    raw_year = request.GET.get("year", "")
    year = int(raw_year) if is_id(raw_year) and int(raw_year) in years else years[0]
    return selectors.attribution(user, fiscal_year=year, model=request.GET.get("model", "w_shaped"),
                                 by=request.GET.get("by", "quarter"), today=today)  # fmt: skip


def attribution_chart(report: selectors.Report) -> str:
    """Attributed pipeline per period, a bar per campaign stacked; won bookings as a line."""
    fig = go.Figure()
    labels = [p.label for p in report.periods]
    for row in report.rows:
        values = [float(p.pipeline.get(row.campaign_id, Decimal(0))) for p in report.periods]
        if any(values):
            fig.add_bar(name=row.name, x=labels, y=values, hovertemplate="%{x}: %{y:,.2f}")
    fig.add_scatter(name="Attributed won bookings", x=labels, y=[float(p.bookings_total) for p in report.periods],
                    mode="lines+markers", line={"color": "#1d2330"})  # fmt: skip
    fig.update_layout(barmode="stack", yaxis={"title": f"Attributed pipeline ({report.model_label})"})
    return charts.render(fig, name="attribution", height=360)


@login_required
def attribution(request: HttpRequest) -> HttpResponse:
    report = _report(request)
    context = {
        "report": report,
        "years": selectors.report_years(timezone.localdate()),
        "models": list(selectors.MODEL_LABELS.items()),
        "chart": attribution_chart(report),
        "query": request.GET.urlencode(),
    }
    htmx = bool(getattr(request, "htmx", False))
    template = "signals/marketing/partials/attribution_body.html" if htmx else "signals/marketing/attribution.html"
    return render(request, template, context)


@login_required
def attribution_export(request: HttpRequest) -> HttpResponseBase:
    report = _report(request)
    header = ["Campaign", "Type", "Cost", f"Attributed pipeline ({report.model_label})",
              f"Attributed won bookings ({report.model_label})", "Sourced pipeline", "Sourced bookings",
              "Sourced opportunities", "Influenced pipeline", "Influenced bookings", "Opportunities", "Won deals",
              "Cost per opportunity", "Return (won bookings ÷ cost)"]  # fmt: skip
    rows = [
        [r.name, r.type, r.cost, r.attributed_pipeline, r.attributed_bookings, r.sourced_pipeline,
         r.sourced_bookings, r.sourced_opportunities, r.influenced_pipeline, r.influenced_bookings, r.opportunities,
         r.won, r.cost_per_opportunity if r.cost_per_opportunity is not None else "",
         ratio(r.return_share)]  # a number like the other columns: 13.0220 is 1,302.2 % (docs/formats.md)
        for r in report.rows
    ]  # fmt: skip
    return csv_response(f"attribution-{report.fiscal_year}-{report.model}.csv", header, rows)
