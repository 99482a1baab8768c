"""The Imports pages (sales ops only): upload and past jobs, and a job page with live progress."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from pipeline.imports import presets, selectors, services
from pipeline.imports.forms import ImportForm
from pipeline.models import ImportJob, ImportStatus
from salesops.api import DomainError
from salesops.exports import csv_response
from salesops.org.auth import request_user
from salesops.org.models import User
from salesops.org.permissions import may_manage_setup

ERRORS_SHOWN = 200
# "sales_pipeline.csv row 17 (opportunity 1C1I7A6R): close date …" -> file, row, record, problem. A file's name
# may hold spaces ("Q2 deals.csv row 7 …"); it ends with the suffix of a file an import reads.
ERROR_PARTS = re.compile(
    r"^(?:(?P<file>.+?\.(?:csv|txt|xlsx|xlsm)) )?row (?P<row>\d+)(?: \((?P<record>.*?)\))?: (?P<problem>.*)$",
    re.S | re.I,
)
RECORD_PARTS = re.compile(r"^(?P<kind>opportunity|deal|sales agent|account|product) '?(?P<id>.*?)'?$", re.S)


def _sales_ops(request: HttpRequest) -> User:
    if not may_manage_setup(request.user):
        raise PermissionDenied("Only sales ops import data.")
    return request_user(request)


def _job_context(job: ImportJob) -> dict[str, Any]:
    progress = selectors.import_job_progress(job)
    finished = job.status in (ImportStatus.DONE, ImportStatus.FAILED)
    result = job.result or {}
    return {
        "job": job,
        "progress": progress,
        "finished": finished,
        "counts": [(label, result.get(key) or {}) for key, label in
                   (("deals", "Deals"), ("accounts", "Accounts"), ("products", "Products"), ("people", "People"))],
        "errors_shown": job.errors[:ERRORS_SHOWN],
        "errors_hidden": max(len(job.errors) - ERRORS_SHOWN, 0),
        "error_count": result.get("error_count") or len(job.errors),
        "may_run": finished and job.dry_run and job.status == ImportStatus.DONE and not job.errors,
        "warnings_shown": (result.get("warnings") or [])[:ERRORS_SHOWN],
        "warning_count": result.get("warning_count") or 0,
        "warnings_hidden": max((result.get("warning_count") or 0) - ERRORS_SHOWN, 0),
        "changes_shown": (result.get("changes") or [])[:ERRORS_SHOWN],
        "change_count": result.get("change_count") or 0,
        "changes_hidden": max((result.get("change_count") or 0) - ERRORS_SHOWN, 0),
        # A dry run's people were rolled back with it: only a real run's can be opened (and activated).
        "people_added": result.get("people_added") or [],
        "preset_label": dict(presets.PRESET_CHOICES).get(job.preset or presets.MAPPING_KEY, job.preset),
    }  # fmt: skip


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    user = _sales_ops(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.import_job_create(
                actor=user,
                uploads=form.cleaned_data["file"],
                preset=form.cleaned_data["preset"],
                mapping=form.cleaned_data["mapping_dict"],
            )
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, f"{job.file_name}: uploaded; its dry run checks every row first.")
            return redirect("imports:job_detail", pk=job.pk)
    jobs = selectors.import_jobs()[:50]
    return render(request, "pipeline/imports/job_list.html", {"form": form, "jobs": jobs})


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The job page; for HTMX (its progress poll) just the status fragment."""
    _sales_ops(request)
    job = get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk)
    template = (
        "pipeline/imports/job_status.html" if getattr(request, "htmx", False) else "pipeline/imports/job_detail.html"
    )
    return render(request, template, _job_context(job))


@login_required
@require_POST
def job_run(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _sales_ops(request)
    job = get_object_or_404(ImportJob, pk=pk)
    try:
        job = services.import_job_start(actor=user, job=job)
    except DomainError as error:
        messages.error(request, error.message)
    if getattr(request, "htmx", False):
        job.refresh_from_db()
        return render(request, "pipeline/imports/job_status.html", _job_context(job))
    return redirect("imports:job_detail", pk=job.pk)


@login_required
def job_errors_csv(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The job's errors as a spreadsheet, one per line; values from the file that a spreadsheet would run
    as a formula are neutralised by the export helper."""
    _sales_ops(request)
    job = get_object_or_404(ImportJob, pk=pk)
    rows: list[list[Any]] = []
    for error in job.errors:
        match = ERROR_PARTS.match(error)
        if match is None:
            rows.append([job.file_name, None, "", "", error])
            continue
        record = RECORD_PARTS.match(match["record"] or "")
        kind, record_id = (record["kind"], record["id"]) if record else (match["record"] or "", "")
        rows.append([match["file"] or job.file_name, int(match["row"]), kind, record_id, match["problem"]])
    return csv_response(f"import-{job.pk}-errors.csv", ["File", "Row", "Record", "Id or name", "Problem"], rows)


@login_required
def job_changes_csv(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Every field the import changes (or changed), one per line, old and new: what a reviewer signs off."""
    _sales_ops(request)
    job = get_object_or_404(ImportJob, pk=pk)
    rows = [
        [change["file"] or job.file_name, change["row"], change["record"], item["field"], item["old"], item["new"]]
        for change in (job.result or {}).get("changes") or []
        for item in change["fields"]
    ]
    return csv_response(f"import-{job.pk}-changes.csv", ["File", "Row", "Record", "Field", "Old", "New"], rows)


@login_required
def job_warnings_csv(request: HttpRequest, pk: int) -> HttpResponseBase:
    _sales_ops(request)
    job = get_object_or_404(ImportJob, pk=pk)
    rows: list[list[Any]] = []
    for warning in (job.result or {}).get("warnings") or []:
        match = ERROR_PARTS.match(warning)
        if match is None:
            rows.append([job.file_name, None, "", warning])
        else:
            rows.append([match["file"] or job.file_name, int(match["row"]), match["record"] or "", match["problem"]])
    return csv_response(f"import-{job.pk}-warnings.csv", ["File", "Row", "Record", "Warning"], rows)
