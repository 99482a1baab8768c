"""Incentive pages: a rep's attainment, statements and earnings estimator; a manager's team; finance's
register, locks, adjustments, disputes and exports; sales ops' plans and quotas.

Scope (roles.md): statements own / subtree / all for finance and sales ops; outside it 404; actions a role
does not hold 403.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

import plotly.graph_objects as go
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from incentives import estimator, exports, selectors, services
from incentives.exports import payout_total
from incentives.filtersets import PayoutFilterSet
from incentives.forms import (
    PLAN_TEMPLATE,
    AdjustmentForm,
    AssignForm,
    DisputeForm,
    LockForm,
    PlanBuilderForm,
    PlanImportForm,
    PlanVersionForm,
    QuotaUploadForm,
    ReopenForm,
    ResolveForm,
)
from incentives.models import (
    CommissionRun,
    CompPlan,
    Dispute,
    Payout,
    Period,
    PlanAssignment,
    Quota,
    QuotaUploadJob,
    QuotaUploadStatus,
    RampSchedule,
    StatementLine,
)
from pipeline import selectors as pipeline_selectors
from salesops import charts, formats
from salesops.api import DomainError
from salesops.exports import csv_response, xlsx_response
from salesops.kernel.ids import is_id
from salesops.org.auth import request_user
from salesops.org.models import User
from salesops.org.permissions import may_close_periods, may_manage_setup
from salesops.org.selectors import people_visible_to, person_names, sees_everyone
from salesops.redirects import redirect_to_next


def _require_finance(user: User) -> None:
    if not may_close_periods(user):
        raise PermissionDenied("Only finance may do this.")


def _require_ops(user: User) -> None:
    if not may_manage_setup(user):
        raise PermissionDenied("Only sales ops may do this.")


STATEMENT_LINES_PER_PAGE = 100


def _last_run() -> CommissionRun | None:
    return CommissionRun.objects.filter(status=CommissionRun.Status.DONE).order_by("-finished_at").first()


def _attainment_chart(payouts: list[Payout], name: str) -> str:
    if not payouts:
        return ""
    labels = [p.period.label for p in payouts]
    fig = go.Figure()
    fig.add_bar(name="Credited", x=labels, y=[float(p.credited) for p in payouts], marker_color="#3554d1")
    fig.add_scatter(name="Quota", x=labels, y=[float(p.quota) for p in payouts], mode="lines+markers",
                    line={"color": "#b7791f", "width": 2})  # fmt: skip
    fig.add_scatter(name="Attainment", x=labels, y=[float(p.attainment) * 100 for p in payouts], yaxis="y2",
                    mode="lines+markers", line={"color": "#1f8a4c", "dash": "dot"})  # fmt: skip
    fig.update_layout(yaxis={"title": "amount"}, yaxis2=charts.percent_axis("attainment"))
    return charts.render(fig, name=name)


# ----------------------------------------------------------------------------------------------- rep pages
@login_required
def my_attainment(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    today = timezone.localdate()
    # Paid so far: the fiscal year's periods begun by today (a later quarter's draw row is not paid yet).
    summary = selectors.pay_summary(user, today=today)
    payouts = summary.payouts
    now_quotas = Quota.objects.filter(person=user, period__start__lte=today, period__end__gte=today)
    context = {
        "payouts": list(reversed(payouts)),
        "chart": _attainment_chart(payouts[-8:], "my-attainment"),
        "paid_to_date": summary.paid_to_date,
        "current": summary.current,
        "next_band": summary.next_band,
        "measured": selectors.measured_quotas(
            list(now_quotas.select_related("period", "person").order_by("period__kind", "measure"))
        ),
        "assignment": PlanAssignment.objects.filter(person=user).select_related("plan").order_by("-start").first(),
        "last_run": _last_run(),
        "year": summary.fiscal_year,
    }
    return render(request, "incentives/my_attainment.html", context)


@login_required
def statement(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = request_user(request)
    payout = get_object_or_404(selectors.payouts_visible_to(user), pk=pk)
    if request.GET.get("export") in ("csv", "xlsx"):
        lines = list(selectors.statement_lines(payout))
        deal_names = pipeline_selectors.deal_names([line.deal_id for line in lines if line.deal_id])
        # The credited person by name and the bands as the page shows them ("2,040.00 × 5 %"), not ids and raw rates.
        credited = person_names({line.credited_person_id for line in lines if line.credited_person_id})
        header = ["period", "person", "component", "deal", "deal name", "credited person", "split %", "overlay",
                  "credit date", "credit", "amount", "bands"]  # fmt: skip
        rows = (
            [payout.period.label, payout.person.display_name, line.component,
             line.deal_id if line.deal_id is not None else line.deal_key, deal_names.get(line.deal_id or 0, ""),
             credited.get(line.credited_person_id or 0, ""), line.split_percent, line.is_overlay,
             line.credit_date, line.credit, line.amount,
             "; ".join(f"{formats.money(b['credit'])} × {formats.rate(b['rate'])}"
                       + (" (above cap)" if b.get("tier", 0) is None else "") for b in line.trace.get("bands", []))]
            for line in lines
        )  # fmt: skip
        name = f"statement-{payout.person.username}-{payout.period.label}.{request.GET['export']}"
        return (csv_response if request.GET["export"] == "csv" else xlsx_response)(name, header, rows)
    # A page of lines at a time: a manager's team plan has a line per team credit (thousands a quarter).
    page = Paginator(selectors.statement_lines(payout), STATEMENT_LINES_PER_PAGE).get_page(request.GET.get("page"))
    lines = list(page.object_list)
    deal_names = pipeline_selectors.deal_names([line.deal_id for line in lines if line.deal_id])
    openable = _deals_openable_by(user, deal_names)
    disputes = selectors.statement_disputes(payout)
    dispute_deals = selectors.dispute_deal_names(disputes)
    by_line: dict[int | None, list[Dispute]] = {}
    for dispute in disputes:
        dispute.deal_name = dispute_deals.get(dispute.pk, "")  # type: ignore[attr-defined]
        by_line.setdefault(dispute.line_id, []).append(dispute)
    cancellations = _clawback_causes(lines)
    for line in lines:  # looked up once here, not by scanning in the template (a manager has thousands of lines)
        line.deal_name = deal_names.get(line.deal_id or 0, "")  # type: ignore[attr-defined]
        line.cause = cancellations.get(line.deal_id or 0, "") if line.trace.get("kind") == "clawback" else ""  # type: ignore[attr-defined]
        line.deal_openable = line.deal_id in openable  # type: ignore[attr-defined]
        line.line_disputes = by_line.get(line.pk, [])  # type: ignore[attr-defined]
        line.may_dispute = not any(d.status == Dispute.Status.OPEN for d in line.line_disputes)  # type: ignore[attr-defined]
    context = {
        "payout": payout,
        "lines": lines,
        "page": page,
        "deal_names": deal_names,
        "adjustments": selectors.adjustments_for(payout),
        "disputes": disputes,
        "own": payout.person_id == user.pk,
        "dispute_form": DisputeForm(),
        "next_band": selectors.next_band(payout),
        "total": payout_total(payout),
        "components": _ordered_components(payout),
        "last_run": _last_run(),
    }
    return render(request, "incentives/statement.html", context)


def _ordered_components(payout: Payout) -> list[tuple[str, str]]:
    """Components in the plan's own order (the JSON column does not keep key order)."""
    plan = selectors.plan_of(payout)
    order = [c.key for c in plan.components] if plan is not None else []
    rank = {key: i for i, key in enumerate(order)}
    return sorted(payout.components.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))


def _clawback_causes(lines: Iterable[StatementLine]) -> dict[int, str]:
    """Each clawback line's cause, by deal: the cancellation (deal, day, reason) it takes the commission back for."""
    from pipeline.selectors import deal_cancellations

    ids = [line.deal_id for line in lines if line.deal_id and line.trace.get("kind") == "clawback"]
    return {pk: c.cause for pk, c in deal_cancellations(ids).items()} if ids else {}


def _deals_openable_by(user: User, ids: Iterable[int]) -> set[int]:
    """The deals among `ids` whose page `user` may open: a split credits a rep on a teammate's deal, which the
    statement names but does not link."""
    from pipeline.selectors import deals_visible_to

    return set(deals_visible_to(user).filter(pk__in=set(ids)).values_list("pk", flat=True))


@login_required
@require_POST
def dispute_raise(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    user = request_user(request)
    payout = get_object_or_404(selectors.payouts_visible_to(user), pk=pk)
    line = get_object_or_404(StatementLine, pk=line_pk, payout=payout)
    if payout.person_id != user.pk:
        raise PermissionDenied("Only the person paid on a statement disputes it.")
    form = DisputeForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError("Say what is wrong with this line.")
        services.dispute_raise(actor=user, line=line, text=form.cleaned_data["text"])
        messages.success(request, "Dispute sent to finance.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("incentives:statement", pk=payout.pk)


@login_required
def earnings_estimator(request: HttpRequest) -> HttpResponse:
    """What I earn if my commit deals (or any open deals I pick) close: computed by the real engine."""
    user = request_user(request)
    candidates = estimator.open_deals_of(user)
    if request.method == "POST":
        chosen = {int(i) for i in request.POST.getlist("deal") if is_id(i) and len(i) <= 18}
    else:
        chosen = {d.pk for d in candidates if d.forecast_category == "commit"}
    estimate = estimator.estimate(person=user, deal_ids=chosen & {d.pk for d in candidates})
    context = {"candidates": candidates, "chosen": chosen, "estimate": estimate}
    return render(request, "incentives/estimator.html", context)


# --------------------------------------------------------------------------------------------- managers
@login_required
def team(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not (user.is_manager or sees_everyone(user)):
        raise PermissionDenied("The team view is for managers, finance and sales ops.")
    # The menu: the latest periods with a payout the viewer may see; any other period by its label in the address.
    visible = selectors.payouts_visible_to(user).order_by().values("period_id")
    periods = list(Period.objects.filter(pk__in=visible).order_by("-start")[:12])
    label = request.GET.get("period") or (periods[0].label if periods else "")
    period = next((p for p in periods if p.label == label), None)
    if period is None and label:
        period = Period.objects.filter(label=label).first()
        if period is not None:
            periods.append(period)
    listing = _payout_listing(request, user, period)
    payouts = listing["payouts"]
    chart = ""
    if payouts:
        people = [p.person.display_name for p in payouts]
        colours = ["#1f8a4c" if p.attainment >= 1 else "#3554d1" for p in payouts]
        bars = go.Bar(x=[float(p.attainment) * 100 for p in payouts], y=people, orientation="h", marker_color=colours)
        fig = go.Figure(bars)
        fig.add_vline(x=100, line_dash="dash", line_color="#b7791f")
        fig.update_layout(xaxis_title="attainment %", height=max(260, 26 * len(payouts)))
        chart = charts.render(fig, name=f"team-attainment-{label}", height=max(260, 26 * len(payouts)))
    context = {"periods": periods, "period": period, "chart": chart, "last_run": _last_run(), **listing}
    return render(request, "incentives/team.html", context)


def _payout_listing(request: HttpRequest, user: User, period: Period | None) -> dict[str, Any]:
    """The period's payouts filtered and sorted as the address says (PayoutFilterSet), with their totals
    summed in SQL over the same rows, and the address parts the sort links and the period picker keep."""
    filterset = PayoutFilterSet(
        request.GET, queryset=selectors.payout_register(user, period) if period else Payout.objects.none()
    )
    rows = filterset.qs
    keep = request.GET.copy()
    for name in ("ordering", "export", "page"):
        keep.pop(name, None)
    return {
        "filterset": filterset,
        "payouts": list(rows) if period else [],
        "totals": selectors.register_totals(rows) if period else None,
        "filtered": bool(filterset.problems) or any(request.GET.get(n) for n in ("q", "region", "team", "adjusted")),
        "ordering": request.GET.get("ordering", ""),
        "sort_query": keep.urlencode(),
    }


# ---------------------------------------------------------------------------------------------- finance
@login_required
def register(request: HttpRequest) -> HttpResponseBase:
    user = request_user(request)
    if not sees_everyone(user):
        raise PermissionDenied("The payout register is for finance and sales ops.")
    periods = list(Period.objects.order_by("-start"))
    label = request.GET.get("period")
    today = timezone.localdate()
    period = next((p for p in periods if p.label == label), None) or next(
        (p for p in periods if p.start <= today and p.payouts.exists()), periods[0] if periods else None
    )
    export = request.GET.get("export")
    if export in ("csv", "xlsx", "lines") and label and (period is None or period.label != label):
        raise Http404(f"No period {label}.")  # never another period's payroll file
    if period and export in ("csv", "xlsx", "lines"):
        if not may_close_periods(user):  # commission and payroll files are finance's (docs/roles.md)
            raise PermissionDenied("Payroll and commission exports are for finance.")
        # Payroll files hold the whole period whatever the page's filters: payroll pays everyone.
        return exports.period_export(period, list(selectors.payout_register(user, period)), export)
    context = {
        "periods": periods,
        "period": period,
        **_payout_listing(request, user, period),
        # The head's figures are the whole period's (what locking it pays), whatever the table's filter.
        "period_totals": selectors.register_totals(selectors.payout_register(user, period)) if period else None,
        "may_close": may_close_periods(user),
        "reopen_form": ReopenForm(),
        "adjustment_form": AdjustmentForm(),
        "open_disputes": Dispute.objects.filter(status=Dispute.Status.OPEN, payout__period=period).count()
        if period
        else 0,
        "last_run": _last_run(),
        "not_up_to_date": selectors.pay_not_up_to_date(),
        "history": _period_history(period) if period else [],
    }
    return render(request, "incentives/register.html", context)


def _period_history(period: Period) -> list[Any]:
    from salesops.org.selectors import audit_history

    return list(audit_history(entity="incentives.period", entity_id=period.pk)[:20])


@login_required
def period_lock(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the confirmation, showing what the lock freezes (payouts, their total, statement lines), what
    blocks it (open disputes), how fresh it is (the last recompute) and, before the period's end, the early-lock
    acknowledgement. POST from it: the lock, refused when the figures changed since the page showed them."""
    user = request_user(request)
    _require_finance(user)
    period = get_object_or_404(Period, pk=pk)
    form = LockForm(request.POST or None)
    if request.method == "POST" and not form.is_valid():
        if any(name.startswith("expected_") for name in form.errors):
            # The figures the page showed came back altered: nothing is locked on figures nobody saw.
            messages.error(request, f"{period.label} was not locked: the figures this page showed did not come "
                                    "back intact. Reload the page and lock again.")  # fmt: skip
        else:
            labels = {name: field.label or name for name, field in form.fields.items()}
            problems = "; ".join(
                f"{labels.get(f, f)}: {' '.join(map(str, errors))}" for f, errors in form.errors.items()
            )
            messages.error(request, f"{period.label} was not locked: {problems}")
    elif request.method == "POST":
        data = form.cleaned_data
        expected = None
        if all(data.get(k) is not None for k in ("expected_payouts", "expected_lines", "expected_total")):
            expected = selectors.LockFigures(data["expected_payouts"], data["expected_lines"],
                                             data["expected_total"])  # fmt: skip
        try:
            services.period_lock(actor=user, period=period, reason=form.data.get("reason", ""),
                                 early=bool(data.get("early")), expected=expected)  # fmt: skip
            messages.success(request, f"{period.label} is locked: its payouts no longer change.")
            return redirect(f"{reverse('incentives:register')}?period={period.label}")
        except DomainError as error:
            messages.error(request, error.message)
    preview = selectors.lock_preview(period)
    context = {"period": period, "preview": preview, "form": form,
               "reason": form.data.get("reason", ""), "early": bool(form.data.get("early"))}  # fmt: skip
    return render(request, "incentives/period_lock.html", context)


@login_required
@require_POST
def period_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    _require_finance(user)
    period = get_object_or_404(Period, pk=pk)
    form = ReopenForm(request.POST)
    try:
        services.period_reopen(actor=user, period=period, reason=form.data.get("reason", ""))
        messages.success(request, f"{period.label} is open again.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect(f"{reverse('incentives:register')}?period={period.label}")


@login_required
@require_POST
def adjustment_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    _require_finance(user)
    period = get_object_or_404(Period, pk=pk)
    form = AdjustmentForm(request.POST)
    if form.is_valid():
        person = get_object_or_404(User, pk=form.cleaned_data["person"])
        try:
            services.adjustment_create(actor=user, person=person, period=period, amount=form.cleaned_data["amount"],
                                       reason=form.cleaned_data["reason"])  # fmt: skip
            messages.success(request, f"Adjustment for {person.display_name} saved.")
        except DomainError as error:
            messages.error(request, error.message)
    else:
        messages.error(request, "An adjustment needs an amount and a reason.")
    return redirect(f"{reverse('incentives:register')}?period={period.label}")


DISPUTES_PAGE = 100


@login_required
def disputes(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    rows = selectors.disputes_visible_to(user)
    status = request.GET.get("status", "open")
    if status in Dispute.Status.values:
        rows = rows.filter(status=status)
    # Newest first, then by id: disputes raised at the same moment keep one order from page to page.
    page = Paginator(rows.order_by("-raised_at", "-pk"), DISPUTES_PAGE).get_page(request.GET.get("page"))
    shown = list(page.object_list)
    may_resolve = may_close_periods(user)
    choices = selectors.dispute_adjustment_choices(shown) if may_resolve else {}
    deals = selectors.dispute_deal_names(shown)
    for dispute in shown:
        dispute.deal_name = deals.get(dispute.pk, "")  # type: ignore[attr-defined]
        dispute.choice = choices.get(dispute.pk)  # type: ignore[attr-defined]
    context = {"disputes": shown, "page": page, "status": status, "may_resolve": may_resolve, "form": ResolveForm()}
    return render(request, "incentives/disputes.html", context)


@login_required
@require_POST
def dispute_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    _require_finance(user)
    dispute = get_object_or_404(Dispute.objects.select_related("payout__period"), pk=pk)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose accept or reject and say why.")
        return redirect("incentives:disputes")
    try:
        accept = form.cleaned_data["decision"] == "accept"
        dispute = services.dispute_resolve(
            actor=user,
            dispute=dispute,
            accept=accept,
            resolution=form.cleaned_data["resolution"],
            amount=form.cleaned_data["amount"],
            period=services.dispute_adjustment_period_named(dispute, form.cleaned_data["period"]) if accept else None,
        )
        paid = dispute.adjustment
        landed = f": {paid.amount:,.2f} paid in {paid.period.label}" if paid else ""
        messages.success(request, f"Dispute {dispute.pk} resolved{landed}.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("incentives:disputes")


@login_required
@require_POST
def recompute_now(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not (may_close_periods(user) or may_manage_setup(user)):
        raise PermissionDenied
    from incentives.tasks import queue_recompute_open_periods

    queue_recompute_open_periods()  # through the outbox: a broker that is down delays it, never refuses it
    messages.success(request, "A full recompute is queued; the pages show when it finished.")
    return redirect_to_next(request, "incentives:register")


# ------------------------------------------------------------------------------------------ plans (ops)
@login_required
def plan_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    plans = CompPlan.objects.prefetch_related("versions")
    if not sees_everyone(user):
        # roles.md: own plan (a rep), the subtree's plans (a manager).
        people = people_visible_to(user).values("pk")
        plans = plans.filter(assignments__person__in=people).distinct()
    context = {"plans": plans.order_by("name"), "may_edit": may_manage_setup(user)}
    return render(request, "incentives/plan_list.html", context)


@login_required
def plan_detail(request: HttpRequest, key: str) -> HttpResponseBase:
    user = request_user(request)
    plan = get_object_or_404(CompPlan, key=key)
    if (
        not sees_everyone(user)
        and not plan.assignments.filter(person__in=people_visible_to(user).values("pk")).exists()
    ):
        raise Http404("No such plan")  # roles.md: a forbidden object is not revealed
    versions = list(plan.versions.order_by("-version"))
    if request.GET.get("export") == "json" and versions:
        chosen = next((v for v in versions if str(v.version) == request.GET.get("version")), versions[0])
        response = JsonResponse(chosen.definition, json_dumps_params={"indent": 2})
        response["Content-Disposition"] = f'attachment; filename="{plan.key}-v{chosen.version}.json"'
        return response
    people = User.objects.filter(is_active=True).order_by("last_name", "first_name")
    form = AssignForm(request.POST or None, people=people)
    if request.method == "POST" and request.POST.get("end_assignment"):
        _require_ops(user)
        wanted = request.POST["end_assignment"]
        assignment = get_object_or_404(PlanAssignment, pk=int(wanted) if is_id(wanted) else None, plan=plan)
        try:
            end = dt.date.fromisoformat(request.POST.get("end", ""))
            services.plan_assignment_end(actor=user, assignment=assignment, end=end)
            messages.success(request, f"{assignment.person.display_name}'s {plan.name} ends on {end}.")
        except ValueError:
            messages.error(request, "Give the last day of the assignment as a date (YYYY-MM-DD).")
        except DomainError as error:
            messages.error(request, error.message)
        return redirect("incentives:plan_detail", key=plan.key)
    if request.method == "POST":
        _require_ops(user)
        if form.is_valid():
            try:
                services.plan_assign(actor=user, plan=plan, **form.cleaned_data)
                messages.success(request, f"{form.cleaned_data['person'].display_name} is on {plan.name}.")
                return redirect("incentives:plan_detail", key=plan.key)
            except DomainError as error:
                form.add_error(None, error.message)
    assignments = plan.assignments.select_related("person").order_by("person__last_name", "start")
    if not sees_everyone(user):
        assignments = assignments.filter(person__in=people_visible_to(user).values("pk"))
    context = {
        "plan": plan,
        "versions": versions,
        "current": versions[0] if versions else None,
        "definition": json.dumps(versions[0].definition, indent=2) if versions else "",
        "assignments": assignments,
        "form": form,
        "may_edit": may_manage_setup(user),
    }
    return render(request, "incentives/plan_detail.html", context)


@login_required
def plan_version(request: HttpRequest, key: str | None = None) -> HttpResponse:
    """A new plan, or a new version of one: the plan JSON, validated by the engine's own parser."""
    user = request_user(request)
    _require_ops(user)
    plan = get_object_or_404(CompPlan, key=key) if key else None
    latest = plan.versions.order_by("-version").first() if plan else None
    # The form builder by default; the JSON editor on request or for a plan the form cannot show.
    built = PlanBuilderForm.initial_from(latest.definition if latest else PLAN_TEMPLATE)
    if request.GET.get("mode") != "json" and built is not None:
        return _plan_builder(request, user, plan, built)
    initial = {
        "key": plan.key if plan else "",
        "name": plan.name if plan else "",
        "effective_from": timezone.localdate().replace(day=1),
        "definition": json.dumps(
            {k: v for k, v in (latest.definition if latest else PLAN_TEMPLATE).items() if k not in ("key", "name")},
            indent=2,
        ),
    }
    form = PlanVersionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            version = services.plan_save_version(actor=user, **form.cleaned_data)
            messages.success(request, f"Saved {version.plan.name} version {version.version}.")
            return redirect("incentives:plan_detail", key=version.plan.key)
        except DomainError as error:
            form.add_error("definition" if error.field == "definition" else None, error.message)
    return render(request, "incentives/plan_form.html", {"form": form, "plan": plan, "builder": built is not None})


def _plan_builder(request: HttpRequest, user: User, plan: CompPlan | None, built: dict[str, Any]) -> HttpResponse:
    initial = {"key": plan.key if plan else "", "name": plan.name if plan else "",
               "effective_from": timezone.localdate().replace(day=1), **built}  # fmt: skip
    form = PlanBuilderForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = {k: form.cleaned_data[k] for k in ("key", "name", "effective_from", "note", "definition")}
        try:
            version = services.plan_save_version(actor=user, **values)
            messages.success(request, f"Saved {version.plan.name} version {version.version}.")
            return redirect("incentives:plan_detail", key=version.plan.key)
        except DomainError as error:
            form.add_error(None, error.message)
    return render(request, "incentives/plan_builder.html", {"form": form, "plan": plan})


@login_required
def plan_import(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    _require_ops(user)
    form = PlanImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            data = json.loads(form.cleaned_data["file"].read().decode("utf-8-sig"))
            if not isinstance(data, dict) or not data.get("key"):
                raise DomainError("The file must be one plan object with a key.")
            definition = {k: v for k, v in data.items() if k not in ("key", "name")}
            version = services.plan_save_version(
                actor=user,
                key=str(data["key"]),
                name=str(data.get("name") or data["key"]),
                definition=definition,
                effective_from=form.cleaned_data["effective_from"],
                note="imported from JSON",
            )
            messages.success(request, f"Imported {version.plan.name} version {version.version}.")
            return redirect("incentives:plan_detail", key=version.plan.key)
        except (ValueError, UnicodeDecodeError) as error:
            form.add_error("file", f"Not a plan JSON file: {error}")
        except DomainError as error:
            form.add_error(None, error.message)
    return render(request, "incentives/plan_import.html", {"form": form})


# ------------------------------------------------------------------------------------------ quotas (ops)
@login_required
def quotas(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not (sees_everyone(user) or user.is_manager):
        raise PermissionDenied
    periods = list(Period.objects.filter(quotas__isnull=False).distinct().order_by("-start"))
    # The period under way (the latest begun by today), not next year's that a published scenario set already.
    today = timezone.localdate()
    current = next((p for p in periods if p.start <= today), periods[-1] if periods else None)
    label = request.GET.get("period") or (current.label if current else "")
    rows = (
        Quota.objects.filter(period__label=label)
        .filter(Q(person__in=people_visible_to(user).values("pk")))
        .select_related("person", "period", "ramp")
        .order_by("person__last_name", "measure")
    )
    if request.method == "POST" and request.POST.get("action") == "ramp":
        _require_ops(user)
        try:
            shares = [s.strip() for s in request.POST.get("shares", "").split(",") if s.strip()]
            ramp = services.ramp_save(actor=user, name=request.POST.get("name", ""), shares=shares)
            messages.success(request, f"Ramp {ramp.name} saved: {', '.join(ramp.shares)} then 100 %.")
        except DomainError as error:
            messages.error(request, error.message)
        return redirect(f"{reverse('incentives:quotas')}?period={label}")
    form = QuotaUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        _require_ops(user)
        if form.is_valid():
            # The rows are checked (and saved) in Celery: a large file outlasts a web request.
            try:
                job = services.quota_upload_job_create(actor=user, upload=form.cleaned_data["file"],
                                                       dry_run=request.POST.get("action") != "apply",
                                                       measure=form.cleaned_data["measure"])  # fmt: skip
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                return redirect("incentives:quota_upload", pk=job.pk)
    may_edit = may_manage_setup(user)
    context = {"periods": periods, "label": label, "rows": rows, "form": form, "may_edit": may_edit,
               "uploads": selectors.quota_upload_jobs()[:5] if may_edit else [],
               "ramps": RampSchedule.objects.order_by("name")}  # fmt: skip
    return render(request, "incentives/quotas.html", context)


QUOTA_ERRORS_SHOWN = 200


def _quota_upload_job(request: HttpRequest, pk: int) -> tuple[User, QuotaUploadJob]:
    """A quota upload, for those who may upload quotas (sales ops); anyone else finds nothing (404)."""
    user = request_user(request)
    if not may_manage_setup(user):
        raise Http404("No such upload.")
    return user, get_object_or_404(QuotaUploadJob.objects.select_related("created_by"), pk=pk)


def _quota_upload_context(job: QuotaUploadJob) -> dict[str, Any]:
    finished = job.status in (QuotaUploadStatus.DONE, QuotaUploadStatus.FAILED)
    return {
        "job": job,
        "progress": selectors.quota_upload_progress(job),
        "finished": finished,
        "errors_shown": job.errors[:QUOTA_ERRORS_SHOWN],
        "errors_hidden": max(len(job.errors) - QUOTA_ERRORS_SHOWN, 0),
        "may_save": finished and job.dry_run and job.status == QuotaUploadStatus.DONE and not job.errors,
    }


@login_required
def quota_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """A quota upload's page: its progress, polled by HTMX (just the status fragment) until it finishes, then
    what it created and changed, or every refused row."""
    _, job = _quota_upload_job(request, pk)
    partial = getattr(request, "htmx", False)
    template = "incentives/quota_upload_status.html" if partial else "incentives/quota_upload.html"
    return render(request, template, _quota_upload_context(job))


@login_required
@require_POST
def quota_upload_save(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Save the quotas a dry run checked without errors (a new job on the same file)."""
    user, job = _quota_upload_job(request, pk)
    try:
        job = services.quota_upload_job_save(actor=user, job=job)
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("incentives:quota_upload", pk=job.pk)


@login_required
def history(request: HttpRequest) -> HttpResponse:
    """Every change to quotas, plans, assignments, adjustments, disputes, locks and ramps: who, when, what, why."""
    user = request_user(request)
    if not sees_everyone(user):
        raise PermissionDenied("The history of pay changes is for finance and sales ops.")
    entity = request.GET.get("entity", "")
    if entity not in selectors.AUDITED_ENTITIES:
        entity = ""
    page = Paginator(selectors.audit_events(entity=entity or None), 50).get_page(request.GET.get("page"))
    kinds = {label: kind for kind, label in selectors.AUDITED_ENTITIES.items()}
    subjects = selectors.audit_subjects(list(page.object_list))
    people = person_names(set().union(*(formats.person_ids(e.changes) for e in page.object_list)))
    for event in page.object_list:
        event.rows = formats.change_rows(event.changes, people)  # type: ignore[attr-defined]
        event.kind = kinds.get(event.entity, event.entity)  # type: ignore[attr-defined]
        event.subject = subjects.get((event.entity, event.entity_id), "(removed)")  # type: ignore[attr-defined]
        event.verb = selectors.ACTION_WORDS.get(event.action, event.action)  # type: ignore[attr-defined]
    context = {"page": page, "entity": entity, "entities": sorted(selectors.AUDITED_ENTITIES)}
    return render(request, "incentives/history.html", context)
