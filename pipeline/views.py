"""Pages of the pipeline. Every view scopes through the selectors; every write calls a service.

Outside a person's scope a record answers 404; an action their role does not allow answers 403.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from pipeline import events, selectors, services
from pipeline.filtersets import AccountFilterSet, DealFilterSet, LeadFilterSet
from pipeline.forms import (
    AccountForm,
    ActivityForm,
    DealCancelForm,
    DealCreateForm,
    DealForm,
    LeadAssignForm,
    LeadConvertForm,
    LeadForm,
    LostForm,
    LostReasonForm,
    MergeForm,
    PipelineForm,
    SplitsForm,
    StageForm,
    lost_reason_choices,
    owner_choices,
)
from pipeline.models import (
    Account,
    Contact,
    Deal,
    DealStatus,
    DealType,
    ForecastCategory,
    LostReason,
    Pipeline,
    Stage,
)
from salesops import formats
from salesops.api import DomainError
from salesops.exports import csv_response, export_refused, xlsx_response
from salesops.htmx import is_htmx
from salesops.kernel.ids import is_id
from salesops.org.auth import request_user
from salesops.org.models import User
from salesops.org.permissions import may_manage_setup, require_report_export
from salesops.org.selectors import visible_people_q
from salesops.redirects import redirect_to_next

INLINE_FIELDS = ["name", "amount", "close_date", "owner", "account", "contact", "probability", "deal_type",
                 "source", "next_step", "lost_reason", "product_gap"]  # fmt: skip


def _per_page(request: HttpRequest, default: int = 25) -> int:
    try:
        return max(10, min(100, int(request.GET.get("per_page", default))))
    except ValueError:
        return default


def _query_without_page(request: HttpRequest, query: QueryDict | None = None) -> str:
    query = (query if query is not None else request.GET).copy()
    query.pop("page", None)
    query.pop("export", None)
    return query.urlencode()


def _deal_for_read(user: User, pk: int) -> Deal:
    return get_object_or_404(selectors.deals_visible_to(user), pk=pk)


def _deal_for_write(user: User, pk: int) -> Deal:
    deal = _deal_for_read(user, pk)
    if not selectors.deal_is_editable_by(user, deal):
        raise PermissionDenied("Your role lets you read this deal, not change it.")
    return deal


def _deal_for_outcome(user: User, pk: int) -> Deal:
    """A deal whose won outcome `user` may undo: those they may change, and for finance every won deal (a
    cancellation or a deal leaving won may reach a locked period, which only finance changes)."""
    deal = _deal_for_read(user, pk)
    if selectors.deal_may_leave_won_by(user, deal):
        return deal
    raise PermissionDenied("Your role lets you read this deal, not change it.")


def _reads_only(user: User) -> bool:
    """Finance with no rep, manager or sales ops role reads deals and accounts; it creates and changes none."""
    return user.is_finance and not (user.is_rep or user.is_manager or user.is_sales_ops)


def _require_setup(user: User) -> None:
    if not may_manage_setup(user):
        raise PermissionDenied("Only sales ops may do this.")


# ------------------------------------------------------------------------------------------ deal list
# The list exports are read by people in a spreadsheet: their headers and codes are the words the pages use ("Best
# case", not "best_case"); the API keeps the codes.
DEAL_EXPORT_HEADER = ["Deal id", "External id", "Deal", "Account", "Owner", "Pipeline", "Stage", "Status",
                      "Forecast category", "Amount", "Currency", "Close date", "Created", "Probability (%)", "Type",
                      "Source"]  # fmt: skip
_STATUS_WORDS = dict(DealStatus.choices)
_CATEGORY_WORDS = dict(ForecastCategory.choices)
_TYPE_WORDS = dict(DealType.choices)


def _deal_export_rows(deals: QuerySet[Deal]) -> Any:
    rows = deals.values_list(
        "id", "external_id", "name", "account__name", "owner__first_name", "owner__last_name", "pipeline__name",
        "stage__name", "status", "category_override", "stage__forecast_category", "amount", "currency",
        "close_date", "created_date", "probability", "stage__probability", "deal_type", "source",
    )  # fmt: skip
    for r in rows.iterator(chunk_size=5000):
        category = r[9] or r[10]
        yield [r[0], r[1], r[2], r[3], f"{r[4]} {r[5]}".strip(), r[6], r[7], _STATUS_WORDS.get(r[8], r[8]),
               _CATEGORY_WORDS.get(category, category), r[11], r[12], r[13], r[14],
               r[15] if r[15] is not None else r[16], _TYPE_WORDS.get(r[17], r[17]), r[18]]  # fmt: skip


@login_required
def deal_list(request: HttpRequest) -> HttpResponseBase:
    """Deals as the filters in the address say; an address that names no status shows the open deals (the
    list is for work still to do), by close date; "Any status" (`status=`) shows every deal."""
    user = request_user(request)
    query = request.GET.copy()
    query.setdefault("status", DealStatus.OPEN)
    filterset = DealFilterSet(query, queryset=selectors.deals_visible_to(user), request=request)
    deals = filterset.qs
    if not filterset.sorts:
        deals = deals.order_by(F("close_date").asc(nulls_last=True), "id")
    export = request.GET.get("export")
    if export in ("csv", "xlsx"):
        require_report_export(user)
        if filterset.problems:
            return export_refused(filterset.problems)
        rows = _deal_export_rows(deals)
        if export == "csv":
            return csv_response("deals.csv", DEAL_EXPORT_HEADER, rows)
        return xlsx_response("deals.xlsx", DEAL_EXPORT_HEADER, rows)
    page = Paginator(deals.annotate(weighted=selectors.weighted_amount()), _per_page(request)).get_page(
        request.GET.get("page")
    )
    without_sort = query.copy()
    without_sort.pop("ordering", None)
    without_sort.pop("page", None)
    context = {
        "filterset": filterset,
        "page": page,
        "query": _query_without_page(request, query),
        "sort_query": without_sort.urlencode(),
        "ordering": query.get("ordering", ""),
        "totals": selectors.deal_totals(deals),
        "status_links": _status_links(query),
        "may_create": not _reads_only(user),
    }
    template = "pipeline/partials/deal_table.html" if is_htmx(request) else "pipeline/deal_list.html"
    return render(request, template, context)


def _status_links(query: QueryDict) -> list[tuple[str, str, bool]]:
    """Open / Won / Lost / All deals, each keeping the other filters and the order: (label, address, current)."""
    others = query.copy()
    others.pop("page", None)
    current = others.pop("status", [""])[-1]
    links = []
    for value, label in [(DealStatus.OPEN, "Open"), (DealStatus.WON, "Won"), (DealStatus.LOST, "Lost"), ("", "All")]:
        others["status"] = value
        links.append((label, f"?{others.urlencode()}", current == value))
    return links


@login_required
def deal_create(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    owners = owner_choices(user)
    if _reads_only(user) or not owners.exists():
        raise PermissionDenied("Your role does not create deals.")
    form = DealCreateForm(request.POST or None, owners=owners, accounts=selectors.accounts_visible_to(user),
                          initial={"owner": user.pk})  # fmt: skip
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        stage = values.pop("stage")
        try:
            deal = services.deal_create(actor=user, stage=stage, **values)
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, f"Created {deal.name}.")
            return redirect("pipeline:deal_detail", pk=deal.pk)
    return render(request, "pipeline/deal_form.html", {"form": form})


# ---------------------------------------------------------------------------------------- deal detail
def _deal_context(user: User, deal: Deal) -> dict[str, Any]:
    editable = selectors.deal_is_editable_by(user, deal)
    stages = list(deal.pipeline.stages.order_by("position"))
    lost_stages = [s for s in stages if s.is_lost]
    won = deal.status == DealStatus.WON and not deal.cancelled_on
    outcome = won and (editable or selectors.deal_may_leave_won_by(user, deal))
    return {
        "deal": deal,
        "editable": editable,
        "stages": stages,
        # Closing as lost asks why; a won deal leaving won or cancelled says why too (forms under the path).
        "lost_form": LostForm(stages=lost_stages, user=user)
        if editable and deal.status == DealStatus.OPEN and lost_stages
        else None,
        "unwin_stages": [s for s in stages if not s.is_won] if outcome else [],
        "cancel_form": DealCancelForm(initial={"date": timezone.localdate()}) if outcome else None,
        "lost_reason_choices": lost_reason_choices() if outcome else [],
        "timeline": selectors.deal_timeline(deal),
        "splits": deal.splits.select_related("person").order_by("is_overlay", "-percent"),
        "line_items": deal.line_items.select_related("product"),
        "activity_form": ActivityForm(),
        "open_categories": [(c.value, c.label) for c in ForecastCategory if c.value in services.OPEN_CATEGORIES],
        "inline_fields": INLINE_FIELDS,
        "today": timezone.localdate(),
        # Through the account, in the active territory model (planning answers; pipeline/events.py).
        "territory": _territory_shown(user, deal.account_id),
    }


def _territory_shown(user: User, account_id: int | None) -> dict[str, Any] | None:
    """An account's territory as a page shows it: its name, and its owner's name when the viewer may see that
    person (roles.md: no name outside the viewer's scope), else nothing about the owner."""
    territory = events.territory_of_account(account_id)
    if territory is None:
        return None
    owner_id = territory.owner_id
    seen = owner_id is not None and User.objects.filter(visible_people_q(user), pk=owner_id).exists()
    return {"name": territory.name, "owner_id": owner_id, "owner_name": territory.owner_name if seen else ""}


@login_required
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    deal = _deal_for_read(user, pk)
    return render(request, "pipeline/deal_detail.html", _deal_context(user, deal))


@login_required
def deal_field(request: HttpRequest, pk: int, field: str) -> HttpResponse:
    """Inline edit of one field: GET ?edit=1 gives its input, POST saves it; both answer the fragment."""
    if field not in INLINE_FIELDS:
        raise Http404("No such field")
    user = request_user(request)
    deal = _deal_for_read(user, pk)
    editing = request.method == "POST" or request.GET.get("edit") == "1"
    if editing:
        deal = _deal_for_write(user, pk)
    form = DealForm(instance=deal, owners=owner_choices(user), accounts=selectors.accounts_visible_to(user), user=user)
    error = ""
    if request.method == "POST":
        form = DealForm(request.POST, instance=Deal.objects.get(pk=deal.pk), owners=owner_choices(user),
                        accounts=selectors.accounts_visible_to(user), user=user)  # fmt: skip
        form.is_valid()
        if field in form.errors:
            error = " ".join(str(e) for e in form.errors[field])
        else:
            try:
                deal = services.deal_update(actor=user, deal=deal, **{field: form.cleaned_data[field]})
                editing = False
            except DomainError as exc:
                error = exc.message
        deal = selectors.deals_visible_to(user).get(pk=deal.pk)
    context = {"deal": deal, "field": field, "form_field": form[field], "editing": editing, "error": error,
               "editable": selectors.deal_is_editable_by(user, deal)}  # fmt: skip
    return render(request, "pipeline/partials/deal_field.html", context)


@login_required
@require_POST
def deal_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a deal to a stage (the board's drag, the deal page's stage path and its lost and out-of-won forms).

    A card dropped on a lost column first gets the small form asking why (`asked` marks its answer); the
    service refuses the move without a reason from the list, and the card stays where it was."""
    user = request_user(request)
    deal = _deal_for_read(user, pk)
    # A won deal's outcome may be undone by finance too (see _deal_for_outcome); any other move is the editors'.
    deal = _deal_for_outcome(user, pk) if deal.status == DealStatus.WON else _deal_for_write(user, pk)
    wanted = request.POST.get("stage", "")
    stage = get_object_or_404(Stage, pk=int(wanted) if is_id(wanted) else None)
    if is_htmx(request) and stage.is_lost and stage.pipeline_id == deal.pipeline_id and not request.POST.get("asked"):
        form = LostForm(stages=[stage], initial={"stage": stage.pk}, user=user)
        return render(request, "pipeline/partials/lost_form.html", {"deal": deal, "stage": stage, "form": form})
    ok, text = True, ""
    try:
        deal = services.deal_move_stage(
            actor=user,
            deal=deal,
            stage=stage,
            lost_reason=request.POST.get("lost_reason", ""),
            lost_note=request.POST.get("lost_note", ""),
            lost_competitor=request.POST.get("lost_competitor", ""),
            product_gap=request.POST.get("product_gap", ""),
            reason=request.POST.get("reason", ""),
        )
        text = f"Moved {deal.name} to {stage.name}."
    except DomainError as error:
        ok, text = False, error.message
    if is_htmx(request):
        response = render(request, "pipeline/partials/flash.html", {"ok": ok, "text": text})
        response["HX-Trigger"] = "deal-moved" if ok else "deal-move-refused"
        return response
    (messages.success if ok else messages.error)(request, text)
    return redirect_to_next(request, "pipeline:deal_detail", pk=deal.pk)


@login_required
@require_POST
def deal_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a won deal (the customer withdrew): a reason and the day, today unless said otherwise."""
    user = request_user(request)
    deal = _deal_for_outcome(user, pk)
    form = DealCancelForm(request.POST)
    if not form.is_valid():
        problems = "; ".join(f"{form.fields[f].label if f in form.fields else ''} {' '.join(map(str, e))}".strip()
                             for f, e in form.errors.items())  # fmt: skip
        messages.error(request, f"{deal.name} was not cancelled: {problems}")
    else:
        try:
            deal = services.deal_cancel(
                actor=user, deal=deal, on=form.cleaned_data["date"], reason=form.cleaned_data["reason"]
            )
            messages.success(
                request,
                f"Cancelled {deal.name} on {formats.day(deal.cancelled_on)}. Its commission is clawed back where the "
                "plan says so, on the next statement.",
            )
        except DomainError as error:
            messages.error(request, error.message)
    return redirect("pipeline:deal_detail", pk=deal.pk)


@login_required
@require_POST
def deal_category(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    deal = _deal_for_write(user, pk)
    try:
        deal = services.deal_set_category_override(actor=user, deal=deal, category=request.POST.get("category", ""))
        messages.success(request, f"{deal.name} now counts as {ForecastCategory(deal.forecast_category).label}.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect_to_next(request, "pipeline:deal_detail", pk=deal.pk)


@login_required
def deal_splits(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    deal = _deal_for_write(user, pk)
    current = list(deal.splits.select_related("person"))
    # Those the user may act for, and whoever holds a split already (so saving them unchanged works).
    people = owner_choices(user, keep=[split.person_id for split in current])
    initial: dict[str, Any] = {}
    for i, split in enumerate(current[: SplitsForm.ROWS]):
        initial.update(
            {f"person_{i}": split.person_id, f"percent_{i}": split.percent, f"overlay_{i}": split.is_overlay}
        )
    form = SplitsForm(request.POST or None, people=people, initial=initial)
    if request.method == "POST" and form.is_valid():
        specs = []
        for i in range(SplitsForm.ROWS):
            person, percent = form.cleaned_data[f"person_{i}"], form.cleaned_data[f"percent_{i}"]
            if person and percent:
                specs.append(
                    services.SplitSpec(person=person, percent=percent, is_overlay=form.cleaned_data[f"overlay_{i}"])
                )
        try:
            services.deal_set_splits(actor=user, deal=deal, splits=specs)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Splits of {deal.name} saved.")
            return redirect("pipeline:deal_detail", pk=deal.pk)
    return render(request, "pipeline/deal_splits.html", {"deal": deal, "form": form})


@login_required
@require_POST
def deal_activity_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    deal = _deal_for_write(user, pk)
    _log_activity(request, user, deal=deal)
    return redirect("pipeline:deal_detail", pk=deal.pk)


def _log_activity(request: HttpRequest, user: Any, **on: Any) -> None:
    """The activity form of a deal's or a lead's page, logged against it (`deal=` or `lead=`), with a message."""
    form = ActivityForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The activity needs a kind and a subject.")
        return
    try:
        services.activity_create(actor=user, **on, **form.cleaned_data)
        messages.success(request, "Activity logged.")
    except DomainError as error:
        messages.error(request, error.message)


@login_required
@require_POST
def activity_done(request: HttpRequest, pk: int) -> HttpResponse:
    """Tick a task done: one on a deal the user may change, or on a lead (and no deal) they may change; then back
    to that deal's or lead's page."""
    user = request_user(request)
    activity = get_object_or_404(selectors.activities_visible_to(user).select_related("lead"), pk=pk)
    if not selectors.activity_is_editable_by(user, activity):
        raise PermissionDenied("Your role lets you read this activity, not change it.")
    services.activity_complete(actor=user, activity=activity)
    if activity.deal_id is not None:
        return redirect("pipeline:deal_detail", pk=activity.deal_id)
    return redirect("pipeline:lead_detail", pk=activity.lead_id)


# ------------------------------------------------------------------------------------------- kanban
@login_required
def board(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    pipelines = list(selectors.pipelines())
    if not pipelines:
        return render(request, "pipeline/board.html", {"pipelines": [], "columns": []})
    chosen = next((p for p in pipelines if str(p.pk) == request.GET.get("pipeline")), None) or pipelines[0]
    filterset = DealFilterSet(request.GET or None, queryset=selectors.deals_visible_to(user), request=request)
    deals = filterset.qs
    if request.GET.get("show") == "closed":
        parts = [deals]
    else:
        # Closed columns show what closed since the first of this month: a board is about the live pipeline.
        since = timezone.localdate().replace(day=1)
        parts = [
            deals.filter(status=DealStatus.OPEN),
            deals.filter(status__in=[DealStatus.WON, DealStatus.LOST], close_date__gte=since),
        ]
    columns = selectors.kanban_board(parts, chosen, cards_per_column=20)
    open_columns = [c for c in columns if not (c.stage.is_won or c.stage.is_lost)]
    context = {
        "pipelines": pipelines,
        "pipeline": chosen,
        "columns": columns,
        "filterset": filterset,
        "query": _query_without_page(request),
        # A card's link is this plus its id: one reverse() for the board instead of one a card.
        "deal_url_prefix": reverse("pipeline:deal_detail", args=[0]).removesuffix("0/"),
        "open_count": sum(c.count for c in open_columns),
        "open_amount": sum((c.amount for c in open_columns), Decimal(0)),
        "editable_ids": set(
            Deal.objects.filter(_editable_q(user), pk__in=[d.pk for c in columns for d in c.cards]).values_list(
                "pk", flat=True
            )
        ),
    }
    template = "pipeline/partials/board_columns.html" if is_htmx(request) else "pipeline/board.html"
    return render(request, template, context)


def _editable_q(user: User) -> Q:
    from salesops.org.selectors import editable_people_q

    return editable_people_q(user, "owner")


# ----------------------------------------------------------------------------------------- accounts
@login_required
def account_list(request: HttpRequest) -> HttpResponseBase:
    user = request_user(request)
    filterset = AccountFilterSet(request.GET or None, queryset=selectors.accounts_visible_to(user), request=request)
    # Counted over the deals the viewer may see, as the account's page lists them (an account is shared; the
    # deals of another team on it are not the viewer's to count).
    seen = visible_people_q(user, "deals__owner")
    accounts = filterset.qs.select_related("owner").annotate(
        open_deals=Count("deals", filter=Q(seen, deals__status=DealStatus.OPEN)),
        won_amount=Sum("deals__amount", filter=Q(seen, deals__status=DealStatus.WON)),
    )
    if not filterset.sorts:
        accounts = accounts.order_by("name", "id")
    export = request.GET.get("export")
    if export in ("csv", "xlsx"):
        require_report_export(user)
        if filterset.problems:
            return export_refused(filterset.problems)
        header = ["Account id", "Account", "Sector", "Country", "Domain", "Employees", "Open deals", "Won amount"]
        rows = (
            [a.pk, a.name, a.sector, a.country, a.domain, a.employees, a.open_deals, a.won_amount]
            for a in accounts.iterator()
        )
        return (csv_response if export == "csv" else xlsx_response)(f"accounts.{export}", header, rows)
    page = Paginator(accounts, _per_page(request)).get_page(request.GET.get("page"))
    context = {
        "filterset": filterset,
        "page": page,
        "query": _query_without_page(request),
        "may_create": not _reads_only(user),
    }
    template = "pipeline/partials/account_table.html" if is_htmx(request) else "pipeline/account_list.html"
    return render(request, template, context)


@login_required
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    account = get_object_or_404(selectors.accounts_visible_to(user), pk=pk)
    deals = selectors.deals_visible_to(user).filter(account=account).order_by("-close_date")
    # The parent and subsidiaries are named; only those the user may open are links.
    visible = selectors.accounts_visible_to(user)
    context = {
        "account": account,
        "parent_visible": visible.filter(pk=account.parent_id).exists() if account.parent_id else False,
        "deals": deals[:200],
        "contacts": Contact.objects.filter(account=account).order_by("last_name"),
        "subsidiaries": account.subsidiaries.annotate(visible=Exists(visible.filter(pk=OuterRef("pk")))),
        "may_edit": not _reads_only(user),
        "territory": _territory_shown(user, account.pk),
    }
    return render(request, "pipeline/account_detail.html", context)


@login_required
def account_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = request_user(request)
    account = get_object_or_404(selectors.accounts_visible_to(user), pk=pk) if pk else None
    if _reads_only(user):
        raise PermissionDenied("Finance reads accounts; it does not change them.")
    form = AccountForm(request.POST or None, instance=account, initial=None if account else {"owner": user.pk})
    # A new account is its creator's, or someone's they work for: either way, theirs to open. An account keeps
    # its owner when saved as it is; it is handed only to someone the user may act for.
    form.fields["owner"].queryset = owner_choices(user, keep=[account.owner_id] if account else [])  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        try:
            if account is None:
                values["owner"] = values.get("owner") or user
                account = services.account_create(actor=user, **values)
            else:
                account = services.account_update(actor=user, account=account, **values)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Saved {account.name}.")
            return redirect("pipeline:account_detail", pk=account.pk)
    return render(request, "pipeline/account_form.html", {"form": form, "account": account})


# -------------------------------------------------------------------------------------------- leads
@login_required
def lead_list(request: HttpRequest) -> HttpResponseBase:
    user = request_user(request)
    filterset = LeadFilterSet(request.GET or None, queryset=selectors.leads_visible_to(user), request=request)
    leads = filterset.qs
    if not filterset.sorts:
        leads = leads.order_by("-created_at", "id")
    export = request.GET.get("export")
    if export in ("csv", "xlsx"):
        require_report_export(user)
        if filterset.problems:
            return export_refused(filterset.problems)
        header = ["Lead id", "First name", "Last name", "Company", "E-mail", "Status", "Source", "Owner", "Created"]
        rows = ([x.pk, x.first_name, x.last_name, x.company, x.email, x.get_status_display(), x.source,
                 x.owner.display_name, x.created_at] for x in leads.iterator())  # fmt: skip
        return (csv_response if export == "csv" else xlsx_response)(f"leads.{export}", header, rows)
    page = Paginator(leads, _per_page(request)).get_page(request.GET.get("page"))
    context = {"filterset": filterset, "page": page, "query": _query_without_page(request),
               "form": None if _reads_only(user) else LeadForm()}  # fmt: skip
    return render(request, "pipeline/lead_list.html", context)


@login_required
@require_POST
def lead_add(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if _reads_only(user):
        raise PermissionDenied("Finance reads leads; it does not create them.")
    form = LeadForm(request.POST)
    if form.is_valid():
        try:
            lead = services.lead_create(actor=user, **form.cleaned_data)
            messages.success(request, f"Lead {lead} added.")
        except DomainError as error:
            messages.error(request, error.message)
    else:
        messages.error(request, "A lead needs a last name and a company.")
    return redirect("pipeline:lead_list")


OPEN_LEAD = ("new", "working", "qualified")  # converted and disqualified leads need no answer any more


def _moment(value: Any) -> str:
    return formats.day(timezone.localtime(value)) if value else formats.NONE


def _handoff(lead: Any, editable: bool) -> dict[str, Any]:
    """The lead page's hand-off card: routed, first answered, the time between (formatted for people)."""
    answered = lead.routed_at and lead.first_response_at
    return {
        "lead": lead,
        "editable": editable,
        "routed": _moment(lead.routed_at),
        "answered": _moment(lead.first_response_at),
        "response_time": formats.duration(lead.first_response_at - lead.routed_at) if answered else "",
        "may_mark_answered": editable and not lead.first_response_at and lead.status in OPEN_LEAD,
    }


def _lead_for_write(user: User, pk: int) -> Any:
    lead = get_object_or_404(selectors.leads_visible_to(user), pk=pk)
    if not selectors.leads_visible_to(user).filter(_editable_q(user), pk=lead.pk).exists():
        raise PermissionDenied("Only the lead's owner, their manager or sales ops change it.")
    return lead


@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A lead with its hand-off: when it was routed to its owner, when it was first answered and how long that
    took (docs/signals-leads.md); its owner, their manager or sales ops mark it answered, hand it over or log an
    activity with it."""
    user = request_user(request)
    lead = get_object_or_404(selectors.leads_visible_to(user), pk=pk)
    editable = selectors.leads_visible_to(user).filter(_editable_q(user), pk=lead.pk).exists()
    return render(request, "pipeline/lead_detail.html", _lead_page(user, lead, editable))


def _lead_page(user: User, lead: Any, editable: bool) -> dict[str, Any]:
    is_open = lead.status in OPEN_LEAD
    return {
        **_handoff(lead, editable),
        # Those on a deal outside the reader's scope are the deal's, not the lead's to show (one rule).
        "activities": selectors.activities_visible_to(user)
        .filter(lead=lead)
        .select_related("owner")
        .order_by("-occurred_at", "-id")[:50],
        "activity_form": ActivityForm() if editable else None,
        "assign_form": LeadAssignForm(owners=owner_choices(user)) if editable and is_open else None,
    }


@login_required
@require_POST
def lead_answered(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark the lead answered now (its first answer was given outside the hub)."""
    user = request_user(request)
    lead = _lead_for_write(user, pk)
    try:
        lead = services.lead_mark_answered(actor=user, lead=lead)
        messages.success(request, f"{lead} marked answered.")
    except DomainError as error:
        messages.error(request, error.message)
    if is_htmx(request):
        lead = selectors.leads_visible_to(user).get(pk=lead.pk)
        return render(request, "pipeline/partials/lead_handoff.html", _handoff(lead, True))
    return redirect("pipeline:lead_detail", pk=lead.pk)


@login_required
@require_POST
def lead_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Hand the lead over; an owner the user may not name (outside their scope, or no one) is refused on the page
    as an unknown choice, the same for both."""
    user = request_user(request)
    lead = _lead_for_write(user, pk)
    form = LeadAssignForm(request.POST, owners=owner_choices(user))
    if not form.is_valid():
        context = {**_lead_page(user, lead, True), "assign_form": form}
        return render(request, "pipeline/lead_detail.html", context)
    try:
        lead = services.lead_assign(actor=user, lead=lead, owner=form.cleaned_data["owner"])
        messages.success(request, f"{lead} handed to {lead.owner.display_name}; the response clock restarts.")
    except DomainError as error:
        messages.error(request, error.message)
    if not selectors.leads_visible_to(user).filter(pk=lead.pk).exists():
        return redirect("pipeline:lead_list")  # handed outside the user's own scope
    return redirect("pipeline:lead_detail", pk=lead.pk)


@login_required
@require_POST
def lead_activity_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Log an activity with the lead: the first one done is its first answer."""
    user = request_user(request)
    lead = _lead_for_write(user, pk)
    _log_activity(request, user, lead=lead)
    return redirect("pipeline:lead_detail", pk=lead.pk)


@login_required
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    lead = get_object_or_404(selectors.leads_visible_to(user), pk=pk)
    if not selectors.leads_visible_to(user).filter(_editable_q(user), pk=lead.pk).exists():
        raise PermissionDenied("Only the lead's owner, their manager or sales ops convert it.")
    form = LeadConvertForm(
        request.POST or None, initial={"deal_name": f"{lead.company} — new business", "create_deal": True}
    )
    form.fields["account"].queryset = selectors.accounts_visible_to(user)  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        try:
            lead = services.lead_convert(actor=user, lead=lead, **form.cleaned_data)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Converted {lead}.")
            if lead.converted_deal_id:
                return redirect("pipeline:deal_detail", pk=lead.converted_deal_id)
            return redirect("pipeline:account_detail", pk=lead.converted_account_id)
    return render(request, "pipeline/lead_convert.html", {"lead": lead, "form": form})


# -------------------------------------------------------------------------------- pipeline setup (ops)
@login_required
def setup(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    _require_setup(user)
    form = PipelineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pipeline = services.pipeline_create(actor=user, **form.cleaned_data)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Pipeline {pipeline.name} created with the standard stages.")
            return redirect("pipeline:setup")
    pipelines = Pipeline.objects.prefetch_related("stages").annotate(deal_count=Count("deals"))
    context = {
        "pipelines": pipelines,
        "form": form,
        "lost_reasons": services.lost_reasons(active_only=False),
        "lost_reason_form": LostReasonForm(),
    }
    return render(request, "pipeline/setup.html", context)


@login_required
@require_POST
def lost_reason_save(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Add a lost reason, or rename, reorder, retire or restore one (sales ops)."""
    user = request_user(request)
    _require_setup(user)
    reason = get_object_or_404(LostReason, pk=pk) if pk else None
    form = LostReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A lost reason needs a name (and a position of 0 or more).")
        return redirect(reverse("pipeline:setup") + "#lost-reasons")
    try:
        saved = services.lost_reason_save(actor=user, reason=reason, **form.cleaned_data)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        state = "in use" if saved.is_active else "retired (deals lost for it keep it)"
        messages.success(request, f"Lost reason {saved.name!r} saved, {state}.")
    return redirect(reverse("pipeline:setup") + "#lost-reasons")


@login_required
def stage_edit(request: HttpRequest, pipeline_pk: int, pk: int | None = None) -> HttpResponse:
    user = request_user(request)
    _require_setup(user)
    pipeline = get_object_or_404(Pipeline, pk=pipeline_pk)
    stage = get_object_or_404(Stage, pk=pk, pipeline=pipeline) if pk else None
    form = StageForm(request.POST or None, instance=stage)
    if request.method == "POST" and form.is_valid():
        try:
            services.stage_save(actor=user, pipeline=pipeline, stage=stage, **form.cleaned_data)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Saved stage {form.cleaned_data['name']} of {pipeline.name}.")
            return redirect("pipeline:setup")
    return render(request, "pipeline/stage_form.html", {"form": form, "pipeline": pipeline, "stage": stage})


@login_required
@require_POST
def stage_move(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    _require_setup(user)
    stage = get_object_or_404(Stage, pk=pk)
    order = list(stage.pipeline.stages.order_by("position").values_list("pk", flat=True))
    i = order.index(stage.pk)
    j = i - 1 if request.POST.get("direction") == "up" else i + 1
    if 0 <= j < len(order):
        order[i], order[j] = order[j], order[i]
        services.stage_reorder(actor=user, pipeline=stage.pipeline, stage_ids=order)
    return redirect("pipeline:setup")


@login_required
@require_POST
def stage_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    _require_setup(user)
    stage = get_object_or_404(Stage, pk=pk)
    try:
        services.stage_delete(actor=user, stage=stage)
        messages.success(request, f"Deleted stage {stage.name}.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("pipeline:setup")


# --------------------------------------------------------------------------------- data quality (ops)
@login_required
def data_quality(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    _require_setup(user)
    days = selectors.dq_window_days(request.GET.get("days"))
    deals = Deal.objects.select_related("owner", "account", "stage")
    past = selectors.dq_past_close_date(deals)
    missing = selectors.dq_missing_fields(deals).order_by("close_date", "id")
    stale = selectors.dq_no_recent_activity(deals, days).order_by("last_activity_at", "id")
    context = {
        "days": days,
        "past": past[:50],
        "past_count": past.count(),
        "missing": missing[:50],
        "missing_count": missing.count(),
        "stale": stale[:50],
        "stale_count": stale.count(),
        "stuck": selectors.dq_stuck(deals)[:50],
        "dup_accounts": selectors.dq_duplicate_accounts(),
        "dup_contacts": selectors.dq_duplicate_contacts(),
    }
    return render(request, "pipeline/data_quality.html", context)


@login_required
@require_POST
def merge(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    _require_setup(user)
    form = MergeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the record to keep and the duplicate.")
        return redirect("pipeline:data_quality")
    data = form.cleaned_data
    try:
        if data["kind"] == "account":
            keep = get_object_or_404(Account, pk=data["keep"])
            moved = services.account_merge(
                actor=user, keep=keep, duplicate=get_object_or_404(Account, pk=data["duplicate"])
            )
            messages.success(
                request, f"Merged into {keep.name}: {moved['deals']} deals, {moved['contacts']} contacts moved."
            )
        else:
            keep_c = get_object_or_404(Contact, pk=data["keep"])
            moved = services.contact_merge(
                actor=user, keep=keep_c, duplicate=get_object_or_404(Contact, pk=data["duplicate"])
            )
            messages.success(request, f"Merged into {keep_c}: {moved['deals']} deals moved.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("pipeline:data_quality")
