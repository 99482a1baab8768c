"""Signals views: finance reconciliation: invoice lines imported, matched to won deals, mismatches with a status.

Finance and sales ops open every page (everyone else: 403); only finance uploads, reconciles and sets a mismatch's
status (sales ops: 403, and no button). Pages poll their status fragment (HTMX) while a task runs.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import plotly.graph_objects as go
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from salesops import charts
from salesops.api import DomainError
from salesops.exports import csv_response, xlsx_response
from salesops.htmx import is_htmx
from salesops.kernel.ids import is_id
from salesops.org.auth import request_user
from salesops.org.models import User
from signals.engine import reconciliation as engine
from signals.models import InvoiceImport, JobStatus, MismatchKind, MismatchStatus
from signals.selectors import reconciliation as selectors
from signals.services import reconciliation as services

ERRORS_SHOWN = 200
PER_PAGE = 50


def _reader(request: HttpRequest) -> User:
    user = request_user(request)
    if not selectors.may_read(user):
        raise PermissionDenied("Finance reconciliation is for finance and sales ops.")
    return user


def _writer(request: HttpRequest) -> User:
    user = _reader(request)
    if not selectors.may_write(user):
        raise PermissionDenied("Only finance imports invoices, reconciles them and sets a mismatch's status.")
    return user


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Invoice lines (.csv or .xlsx)",
        help_text="Columns: invoice number, invoice date, amount, currency, account name; optional: deal external id, "
        "description.",
    )


class ReconcileForm(forms.Form):
    period_start = forms.DateField(
        label="Deals closed from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    period_end = forms.DateField(label="to", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    tolerance = forms.DecimalField(
        label="Amount tolerance",
        required=False,
        min_value=Decimal(0),
        decimal_places=2,
        max_digits=12,
        help_text="0.00: amounts must agree to the cent.",
    )
    days_before = forms.IntegerField(
        label="Days an invoice may precede the close", required=False, min_value=0, max_value=366
    )
    days_after = forms.IntegerField(
        label="Days an invoice may follow the close", required=False, min_value=0, max_value=366
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=MismatchStatus.choices)
    note = forms.CharField(required=False, max_length=services.NOTE_MAX, widget=forms.Textarea(attrs={"rows": 2}))


# ------------------------------------------------------------------------------------------------- imports
@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    """The imports (newest first) with the upload form, and the latest reconciliations."""
    user = _reader(request)
    writes = selectors.may_write(user)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        _writer(request)
        if form.is_valid():
            try:
                record = services.invoice_import_create(actor=user, upload=form.cleaned_data["file"])
            except DomainError as error:
                form.add_error("file" if error.field == "file" else None, error.message)
            else:
                messages.success(
                    request, f"{record.file_name}: uploaded; every row is checked before anything is stored."
                )
                return redirect("signals:reconciliation_import", pk=record.pk)
    context = {
        "form": form,
        "writes": writes,
        "imports": selectors.invoice_imports()[:50],
        "reconciliations": selectors.reconciliations()[:20],
    }
    return render(request, "signals/reconciliation/import_list.html", context)


def _import_context(record: InvoiceImport, user: User) -> dict[str, Any]:
    finished = record.status in (JobStatus.DONE, JobStatus.FAILED)
    form = None
    default_start = default_end = None
    if record.status == JobStatus.DONE and record.first_invoice_date and record.last_invoice_date:
        default_start, default_end = engine.default_period(
            record.first_invoice_date, record.last_invoice_date, engine.MatchSettings()
        )
        form = ReconcileForm(
            initial={
                "period_start": default_start,
                "period_end": default_end,
                "tolerance": engine.DEFAULT_TOLERANCE,
                "days_before": engine.DEFAULT_DAYS_BEFORE,
                "days_after": engine.DEFAULT_DAYS_AFTER,
            }
        )
    return {
        "record": record,
        "progress": selectors.import_progress(record),
        "finished": finished,
        "errors_shown": record.errors[:ERRORS_SHOWN],
        "errors_hidden": max(record.error_count - min(len(record.errors), ERRORS_SHOWN), 0),
        "writes": selectors.may_write(user),
        "form": form,
        "default_start": default_start,
        "default_end": default_end,
        "reconciliations": selectors.reconciliations().filter(invoice_import=record)[:20],
    }


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An import: progress while its rows are checked (the fragment is polled), then its refused rows or the form
    that starts a reconciliation."""
    user = _reader(request)
    record = get_object_or_404(InvoiceImport.objects.select_related("created_by"), pk=pk)
    template = (
        "signals/reconciliation/_import_status.html"
        if is_htmx(request)
        else "signals/reconciliation/import_detail.html"
    )
    return render(request, template, _import_context(record, user))


@login_required
def import_errors_csv(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The refused rows, one a line (row number and reason)."""
    _reader(request)
    record = get_object_or_404(InvoiceImport, pk=pk)
    rows: list[list[Any]] = []
    for error in record.errors:
        head, _, reason = error.partition(": ")
        number = head.removeprefix("row ")
        rows.append([int(number), reason] if is_id(number) else [None, error])
    return csv_response(f"invoice-import-{record.pk}-errors.csv", ["Row", "Problem"], rows)


@login_required
@require_POST
def reconcile(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _writer(request)
    record = get_object_or_404(InvoiceImport, pk=pk)
    form = ReconcileForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("signals:reconciliation_import", pk=record.pk)
    try:
        reconciliation = services.reconciliation_create(actor=user, invoice_import=record, **form.cleaned_data)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("signals:reconciliation_import", pk=record.pk)
    messages.success(request, "Reconciliation started: the lines are being matched to the won deals.")
    return redirect("signals:reconciliation_detail", pk=reconciliation.pk)


# ----------------------------------------------------------------------------------------- reconciliations
def _chart(counts: list[selectors.KindCount]) -> str:
    fig = go.Figure()
    for status, label in MismatchStatus.choices:
        fig.add_trace(go.Bar(x=[c.label for c in counts], y=[getattr(c, status) for c in counts], name=str(label)))
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text="Mismatches")
    return charts.render(fig, name="reconciliation-mismatches", height=280)


@login_required
def reconciliation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    reconciliation = get_object_or_404(selectors.reconciliations(), pk=pk)
    finished = reconciliation.status in (JobStatus.DONE, JobStatus.FAILED)
    counts = selectors.kind_counts(reconciliation) if reconciliation.status == JobStatus.DONE else []
    context = {
        "reconciliation": reconciliation,
        "progress": selectors.reconciliation_progress(reconciliation),
        "finished": finished,
        "counts": counts,
        "help": selectors.KIND_HELP,
        "total": sum(c.total for c in counts),
        "chart": _chart(counts) if counts and any(c.total for c in counts) else "",
        "writes": selectors.may_write(user),
    }
    template = (
        "signals/reconciliation/_reconciliation_status.html"
        if is_htmx(request)
        else "signals/reconciliation/reconciliation_detail.html"
    )
    return render(request, template, context)


EXPORT_HEADER = [
    "Kind",
    "Status",
    "Note",
    "Deal",
    "Deal external id",
    "Account",
    "Owner",
    "Close date",
    "Deal amount",
    "Invoice number",
    "Invoice date",
    "Invoiced amount",
    "Difference",
    "Currency",
    "Invoice lines",
    "Detail",
]


def _export_rows(rows: Any, owners: dict[int, str]) -> Any:
    for m in rows.iterator(chunk_size=5000):
        yield [
            m.get_kind_display(),
            m.get_status_display(),
            m.note,
            m.deal_name,
            m.deal_external_id,
            m.account_name,
            owners.get(m.owner_id or 0, ""),
            m.close_date,
            m.deal_amount,
            m.invoice_number,
            m.invoice_date,
            m.invoiced,
            m.difference,
            m.currency,
            m.line_count,
            m.detail,
        ]


@login_required
def mismatch_list(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The mismatches, filtered by kind, status and a search; `?export=csv|xlsx` downloads the filtered rows."""
    user = _reader(request)
    reconciliation = get_object_or_404(selectors.reconciliations(), pk=pk)
    kind = request.GET.get("kind", "")
    status = request.GET.get("status", "")
    q = request.GET.get("q", "")
    rows = selectors.mismatches(reconciliation, kind=kind, status=status, q=q)
    export = request.GET.get("export", "")
    if export in ("csv", "xlsx"):
        owners = selectors.owner_names(rows.order_by().values_list("owner_id", flat=True).distinct())
        name = f"reconciliation-{reconciliation.pk}-mismatches.{export}"
        respond = csv_response if export == "csv" else xlsx_response
        return respond(name, EXPORT_HEADER, _export_rows(rows, owners))
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    owners = selectors.owner_names({m.owner_id for m in page.object_list if m.owner_id})
    filters = {k: v for k, v in (("kind", kind), ("status", status), ("q", q)) if v}
    context = {
        "reconciliation": reconciliation,
        "page": page,
        "owners": owners,
        "kind": kind,
        "status": status,
        "q": q,
        "kinds": MismatchKind.choices,
        "statuses": MismatchStatus.choices,
        "query": urlencode(filters),
        "writes": selectors.may_write(user),
    }
    template = (
        "signals/reconciliation/_mismatch_table.html"
        if is_htmx(request)
        else "signals/reconciliation/mismatch_list.html"
    )
    return render(request, template, context)


@login_required
@require_POST
def mismatch_status(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Finance sets a mismatch's status and note; an HTMX request gets the row back."""
    user = _writer(request)
    mismatch = selectors.mismatch_by_id(pk)
    if mismatch is None:
        raise Http404("No such mismatch.")
    form = StatusForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            mismatch = services.mismatch_set_status(
                actor=user, mismatch=mismatch, status=form.cleaned_data["status"], note=form.cleaned_data["note"]
            )
        except DomainError as refused:
            error = refused.message
    else:
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    if is_htmx(request):
        mismatch = selectors.mismatch_by_id(pk) if error else mismatch
        context = {
            "m": mismatch,
            "owners": selectors.owner_names({mismatch.owner_id} if mismatch and mismatch.owner_id else set()),
            "writes": True,
            "error": error,
            "statuses": MismatchStatus.choices,
        }
        return render(request, "signals/reconciliation/_mismatch_row.html", context, status=400 if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"{mismatch}: {mismatch.get_status_display().lower()}.")
    return redirect("signals:reconciliation_mismatches", pk=mismatch.reconciliation_id)
