"""Signals services: finance reconciliation: invoice lines imported, matched to won deals, mismatches with a status.

Finance writes (an import, a reconciliation, a mismatch's status); sales ops only read (docs/roles.md). Imports and
reconciliations run in Celery tasks (signals/tasks_reconciliation.py) queued through the outbox after the request's
transaction commits, and report their progress through the cache while their own transaction is open.
docs/signals-reconciliation.md describes every rule.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from pipeline.selectors import reconciliation as pipeline_reads
from salesops import softcache
from salesops.api import DomainError, Forbidden
from salesops.celery import QUEUE_DEFAULT
from salesops.job_runner import claim_job, job_runner, stale_jobs_fail
from salesops.kernel.money import format_size
from salesops.org.models import User
from salesops.org.services import audit_record
from signals.engine import reconciliation as engine
from signals.models import (
    InvoiceImport,
    InvoiceLine,
    JobStatus,
    Mismatch,
    MismatchStatus,
    Reconciliation,
    ReconciliationMatch,
)
from signals.selectors.reconciliation import import_progress_key, may_write, reconciliation_progress_key

logger = logging.getLogger(__name__)

UPLOAD_SUFFIXES = frozenset({".csv", ".xlsx"})
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
ERRORS_KEPT = 1000  # the first refused rows stored on the import (the count says how many in all)
PROGRESS_EVERY = 0.5  # seconds between progress reports
MAX_WINDOW_DAYS = 366
MAX_TOLERANCE = Decimal("1000000.00")
MAX_PERIOD_DAYS = 3 * 366 + 400


def _check_finance(actor: User) -> None:
    if not may_write(actor):
        raise Forbidden("Only finance imports invoices, reconciles them and sets a mismatch's status.")


def _queue(task: str, record_id: int) -> None:
    from salesops.outbox import services as outbox

    # Written with the record, sent once it commits; a broker that is down delays the run, never loses it.
    outbox.enqueue(task, args=[record_id], queue=QUEUE_DEFAULT)


class _Progress:
    """Rows done of rows total, to the cache at most every half second (the job's own transaction hides its row)."""

    def __init__(self, key: str, total: int) -> None:
        self.report = softcache.progress_reporter(key)
        self.total = total
        self.last = 0.0

    def __call__(self, done: int, phase: str = "reading", *, force: bool = False) -> None:
        if force or time.monotonic() - self.last >= PROGRESS_EVERY:
            self.last = time.monotonic()
            self.report(min(done, self.total) if self.total else done, self.total, phase)


def _copy(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY rows into one of this area's own tables (psycopg 3): one statement for 100,000 rows."""
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


# ------------------------------------------------------------------------------------------------ imports
@transaction.atomic
def invoice_import_create(*, actor: User, upload: UploadedFile | None) -> InvoiceImport:
    """Store an uploaded invoice file and queue the task that checks and stores its lines."""
    _check_finance(actor)
    if upload is None:
        raise DomainError("Choose a .csv or .xlsx file of invoice lines.", field="file")
    name = Path(upload.name or "invoices.csv").name
    if Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
        raise DomainError(f"{name}: only .csv and .xlsx files can be imported.", field="file")
    if (upload.size or 0) > MAX_UPLOAD_BYTES:
        raise DomainError(f"{name} is larger than {format_size(MAX_UPLOAD_BYTES)}.", field="file")
    record = InvoiceImport(created_by=actor, file_name=name[:255])
    record.file.save(name, upload, save=False)
    record.save()
    audit_record(actor=actor, instance=record, action="create", changes={"file_name": (None, record.file_name)})
    _queue("signals.reconciliation_import", record.pk)
    return record


@contextlib.contextmanager
def _local_copy(record: InvoiceImport) -> Iterator[Path]:
    """The stored file as a local path (whatever storage holds it), named with its suffix."""
    suffix = Path(record.file.name).suffix.lower() or ".csv"
    with tempfile.TemporaryDirectory(prefix="invoices-") as temp:
        target = Path(temp) / f"invoices{suffix}"
        with record.file.open("rb") as source, target.open("wb") as copy:
            shutil.copyfileobj(source, copy)
        yield target


LINE_COLUMNS = (
    "invoice_import_id",
    "row",
    "invoice_number",
    "invoice_date",
    "amount",
    "currency",
    "deal_external_id",
    "deal_id",
    "account_name",
    "description",
)


INVOICE_IMPORT_RUNNER = "signals.invoice_import"  # the runner lock of one invoice import (salesops.job_runner)
RECONCILIATION_RUNNER = "signals.reconciliation"  # the runner lock of one reconciliation's run


def _claim(model: type[InvoiceImport] | type[Reconciliation], pk: int, *, only_runner: bool) -> bool:
    """Claim a queued import or run for this copy of its task (salesops.job_runner.claim_job)."""
    from signals.tasks_reconciliation import RECONCILIATION_TIME_LIMIT

    return claim_job(model.objects.filter(pk=pk), only_runner=only_runner, queued=JobStatus.PENDING,
                     running=JobStatus.RUNNING, time_limit=dt.timedelta(seconds=RECONCILIATION_TIME_LIMIT))  # fmt: skip


def invoice_import_running(*, import_id: int) -> bool:
    """Whether the import still says "running" (a copy of its task that found it run elsewhere looks again later)."""
    return InvoiceImport.objects.filter(pk=import_id, status=JobStatus.RUNNING).exists()


def reconciliation_running(*, reconciliation_id: int) -> bool:
    """Whether the reconciliation still says "running" (as `invoice_import_running`)."""
    return Reconciliation.objects.filter(pk=reconciliation_id, status=JobStatus.RUNNING).exists()


def invoice_import_execute(*, import_id: int) -> InvoiceImport | None:
    """Check every row of a queued import; store its lines only when no row is refused (all or nothing). The run
    holds the import's runner lock (salesops.job_runner) from its claim to its outcome: a second copy of the task (a
    redelivery, an outbox message sent twice) finds the lock held and does nothing while the first runs; a copy that
    finds the import "running" with nobody holding the lock (its worker was killed mid-run: out of memory, SIGKILL)
    takes it over at once. Returns the import, or None when not claimed."""
    with job_runner(INVOICE_IMPORT_RUNNER, import_id) as only_runner:
        if not _claim(InvoiceImport, import_id, only_runner=only_runner):
            logger.info("invoice import %s: not queued (running or finished), this copy of the task does nothing",
                        import_id)  # fmt: skip
            return None
        return _import(import_id)


def _import(import_id: int) -> InvoiceImport | None:
    record = InvoiceImport.objects.select_related("created_by").get(pk=import_id)
    key = import_progress_key(record.pk)
    lines: list[engine.ParsedLine] = []
    errors: list[str] = []
    error_count = 0
    rows_total = 0
    try:
        with _local_copy(record) as path:
            progress = _Progress(key, engine.count_rows(path))
            tables = engine.read_table(path)
            try:
                table = next(tables)
                lines, row_errors = engine.parse_table(table, on_row=lambda n: progress(n - 1))
            finally:
                tables.close()
            rows_total = len(lines) + len({e.row for e in row_errors})
            error_count = len(row_errors)
            errors = [str(e) for e in row_errors[:ERRORS_KEPT]]
            if not row_errors:
                progress(rows_total, "writing", force=True)
                with transaction.atomic():
                    # Another delivery of the message may have run it meanwhile (a running import can be claimed
                    # again): its lines are written by the one run that still finds it running, under the row lock.
                    if (
                        not InvoiceImport.objects.select_for_update()
                        .filter(pk=record.pk, status=JobStatus.RUNNING)
                        .exists()
                    ):
                        softcache.delete(key)
                        return None
                    _copy(
                        "signals_invoiceline",
                        LINE_COLUMNS,
                        (
                            (
                                record.pk,
                                ln.row,
                                ln.invoice_number,
                                ln.invoice_date,
                                ln.amount,
                                ln.currency,
                                ln.deal_external_id,
                                ln.deal_id,
                                ln.account_name,
                                ln.description,
                            )
                            for ln in lines
                        ),
                    )
                    _finish_import(record, lines, rows_total)
    except engine.FileError as error:
        errors, error_count = [str(error)], 1
    except Exception as error:
        from celery.exceptions import SoftTimeLimitExceeded

        # The details (exception text, paths) go to the server's log, never to the page.
        logger.exception("invoice import %s stopped", import_id)
        timed_out = isinstance(error, SoftTimeLimitExceeded)
        errors, error_count = [INVOICE_IMPORT_TIMED_OUT if timed_out else _import_stopped(import_id)], 1
    if errors:
        record.status = JobStatus.FAILED
        record.errors = errors
        record.error_count = error_count
        record.rows_total = rows_total
        record.line_count = 0
        record.finished_at = timezone.now()
        record.save(update_fields=["status", "errors", "error_count", "rows_total", "line_count", "finished_at"])
    softcache.delete(key)
    _announce_import(record)
    return record


def _finish_import(record: InvoiceImport, lines: list[engine.ParsedLine], rows_total: int) -> None:
    record.status = JobStatus.DONE
    record.rows_total = rows_total
    record.line_count = len(lines)
    record.error_count = 0
    record.errors = []
    record.first_invoice_date = min(ln.invoice_date for ln in lines)
    record.last_invoice_date = max(ln.invoice_date for ln in lines)
    totals: dict[str, Decimal] = {}
    for ln in lines:
        totals[ln.currency] = totals.get(ln.currency, Decimal("0.00")) + ln.amount
    # Per currency, never added across currencies (no exchange rates are kept): one total only for one currency.
    record.amounts = {currency: str(amount) for currency, amount in sorted(totals.items())}
    record.total_amount = next(iter(totals.values())) if len(totals) == 1 else None
    record.finished_at = timezone.now()
    record.save()


def _announce_import(record: InvoiceImport) -> None:
    """The person who uploaded the file hears that its check finished (a notification of kind import_finished)."""
    try:
        from signals.services.notifications import notify

        ok = record.status == JobStatus.DONE
        notify(
            recipient_ids=[record.created_by_id],
            kind="import_finished",
            title=f"Invoice import {record.file_name}: "
            + (f"{record.line_count:,} lines stored" if ok else f"{record.error_count:,} rows refused, nothing stored"),
            url=reverse("signals:reconciliation_import", args=[record.pk]),
            dedupe_key=f"invoice-import-{record.pk}",
        )
    except Exception:  # a notification never fails the import
        logger.warning("invoice import %s: the notification failed", record.pk, exc_info=True)


# ---------------------------------------------------------------------------------------- reconciliations
def _whole(value: Any, name: str, label: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(str(value).strip())
    except ValueError as error:
        raise DomainError(f"The {label} must be a whole number of days.", field=name) from error
    if not 0 <= number <= MAX_WINDOW_DAYS:
        raise DomainError(f"The {label} must be between 0 and {MAX_WINDOW_DAYS} days.", field=name)
    return number


def _tolerance(value: Any) -> Decimal:
    if value is None or value == "":
        return engine.DEFAULT_TOLERANCE
    try:
        amount = Decimal(str(value).strip().replace(",", "")).quantize(engine.CENT)
    except (InvalidOperation, ValueError) as error:
        raise DomainError("The tolerance must be an amount such as 0.00 or 5.00.", field="tolerance") from error
    if not amount.is_finite() or amount < 0 or amount > MAX_TOLERANCE:
        raise DomainError("The tolerance must be an amount from 0.00 (exact to the cent) up.", field="tolerance")
    return amount


def _date(value: Any, name: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as error:
        raise DomainError(f"“{value}” is not a date (2026-10-31).", field=name) from error


@transaction.atomic
def reconciliation_create(
    *,
    actor: User,
    invoice_import: InvoiceImport,
    period_start: Any = None,
    period_end: Any = None,
    tolerance: Any = None,
    days_before: Any = None,
    days_after: Any = None,
) -> Reconciliation:
    """Queue the matching of an import's lines to the won deals closed in a period (by default the import's
    invoice dates widened by the match window: every deal a line could match)."""
    _check_finance(actor)
    record = InvoiceImport.objects.select_for_update().get(pk=invoice_import.pk)
    if record.status != JobStatus.DONE or not record.line_count:
        raise DomainError(
            f"{record.file_name} has no stored lines to reconcile (its import has not finished without errors)."
        )
    settings = engine.MatchSettings(
        tolerance=_tolerance(tolerance),
        days_before=_whole(days_before, "days_before", "days before the close", engine.DEFAULT_DAYS_BEFORE),
        days_after=_whole(days_after, "days_after", "days after the close", engine.DEFAULT_DAYS_AFTER),
    )
    assert record.first_invoice_date is not None and record.last_invoice_date is not None
    default_start, default_end = engine.default_period(record.first_invoice_date, record.last_invoice_date, settings)
    start = _date(period_start, "period_start") or default_start
    end = _date(period_end, "period_end") or default_end
    if end < start:
        raise DomainError("The period ends before it starts.", field="period_end")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise DomainError("A reconciliation covers at most four years of close dates.", field="period_end")
    reconciliation = Reconciliation.objects.create(
        invoice_import=record,
        created_by=actor,
        period_start=start,
        period_end=end,
        tolerance=settings.tolerance,
        days_before=settings.days_before,
        days_after=settings.days_after,
    )
    audit_record(
        actor=actor,
        instance=reconciliation,
        action="create",
        changes={
            "invoice_import": (None, record.pk),
            "period_start": (None, start),
            "period_end": (None, end),
            "tolerance": (None, settings.tolerance),
            "days_before": (None, settings.days_before),
            "days_after": (None, settings.days_after),
        },
    )
    _queue("signals.reconciliation_run", reconciliation.pk)
    return reconciliation


MATCH_COLUMNS = ("reconciliation_id", "line_id", "deal_id", "rule")
MISMATCH_COLUMNS = (
    "reconciliation_id",
    "kind",
    "deal_id",
    "line_id",
    "deal_name",
    "deal_external_id",
    "account_name",
    "owner_id",
    "close_date",
    "deal_amount",
    "invoice_number",
    "invoice_date",
    "invoice_amount",
    "difference",
    "currency",
    "line_count",
    "detail",
    "status",
    "note",
    "status_changed_by_id",
    "status_changed_at",
)
# What finance set on an earlier reconciliation of the same import, by mismatch: (kind, deal, line when no deal).
Earlier = dict[tuple[str, int | None, int | None], tuple[str, str, int | None, dt.datetime | None]]


def _key(kind: str, deal_id: int | None, line_id: int | None) -> tuple[str, int | None, int | None]:
    return kind, deal_id, line_id if deal_id is None else None


def _earlier_statuses(reconciliation: Reconciliation) -> Earlier:
    """The statuses and notes finance gave the same mismatches in the latest earlier reconciliation of this import:
    reconciling again (another period, another tolerance, deals corrected since) keeps finance's work."""
    previous = (
        Reconciliation.objects.filter(invoice_import_id=reconciliation.invoice_import_id, status=JobStatus.DONE)
        .exclude(pk=reconciliation.pk)
        .order_by("-finished_at", "-id")
        .first()
    )
    if previous is None:
        return {}
    rows = (
        Mismatch.objects.filter(reconciliation=previous)
        .exclude(status=MismatchStatus.OPEN, note="")
        .values_list("kind", "deal_id", "line_id", "status", "note", "status_changed_by_id", "status_changed_at")
    )
    return {_key(kind, deal, line): (status, note, by, at) for kind, deal, line, status, note, by, at in rows}


def reconciliation_execute(*, reconciliation_id: int) -> Reconciliation | None:
    """Match a queued reconciliation's lines to the won deals and store its matches and mismatches, in one
    transaction (a half-finished run never shows; running it again replaces what it stored). The run holds its
    runner lock as an import's does (`invoice_import_execute`). Returns the reconciliation, or None when not
    claimed."""
    with job_runner(RECONCILIATION_RUNNER, reconciliation_id) as only_runner:
        if not _claim(Reconciliation, reconciliation_id, only_runner=only_runner):
            logger.info("reconciliation %s: not queued (running or finished), this copy of the task does nothing",
                        reconciliation_id)  # fmt: skip
            return None
        return _reconcile(reconciliation_id)


def _reconcile(reconciliation_id: int) -> Reconciliation:
    reconciliation = Reconciliation.objects.select_related("invoice_import").get(pk=reconciliation_id)
    key = reconciliation_progress_key(reconciliation.pk)
    try:
        progress = _Progress(key, 3)
        progress(0, "reading", force=True)
        deals = pipeline_reads.won_deals_closed_between(reconciliation.period_start, reconciliation.period_end)
        line_rows = list(
            InvoiceLine.objects.filter(invoice_import_id=reconciliation.invoice_import_id)
            .order_by("id")
            .values_list(
                "id",
                "invoice_number",
                "invoice_date",
                "amount",
                "currency",
                "deal_external_id",
                "deal_id",
                "account_name",
            )
        )
        progress(1, "matching", force=True)
        settings = engine.MatchSettings(
            tolerance=reconciliation.tolerance,
            days_before=reconciliation.days_before,
            days_after=reconciliation.days_after,
        )
        result = engine.reconcile(
            (
                engine.WonDeal(d.id, d.external_id, d.account_name, d.amount, d.currency, d.close_date, d.cancelled_on)
                for d in deals
            ),
            (
                engine.Line(pk, date, amount, currency, ext, account, deal_ref)
                for pk, _number, date, amount, currency, ext, deal_ref, account in line_rows
            ),
            settings,
        )
        progress(2, "writing", force=True)
        by_deal = {d.id: d for d in deals}
        numbers = {pk: number for pk, number, *_ in line_rows}
        accounts = {pk: account for pk, *_rest, account in line_rows}
        earlier = _earlier_statuses(reconciliation)
        with transaction.atomic():
            # Two deliveries of the message at once: the second waits here and then replaces the first's rows
            # (without the lock, each deleted nothing the other had written and both wrote theirs).
            Reconciliation.objects.select_for_update().filter(pk=reconciliation.pk).exists()
            ReconciliationMatch.objects.filter(reconciliation=reconciliation).delete()
            Mismatch.objects.filter(reconciliation=reconciliation).delete()
            _copy(
                "signals_reconciliationmatch",
                MATCH_COLUMNS,
                ((reconciliation.pk, m.line_id, m.deal_id, m.rule) for m in result.matches),
            )
            _copy(
                "signals_mismatch",
                MISMATCH_COLUMNS,
                (_mismatch_row(reconciliation.pk, m, by_deal, numbers, accounts, earlier) for m in result.mismatches),
            )
            reconciliation.status = JobStatus.DONE
            reconciliation.deal_count = result.deal_count
            reconciliation.line_count = result.line_count
            reconciliation.matched_deal_count = result.matched_deal_count
            reconciliation.matched_line_count = len(result.matches)
            reconciliation.counts = result.counts()
            reconciliation.error = ""
            reconciliation.finished_at = timezone.now()
            reconciliation.save()
    except Exception as error:
        from celery.exceptions import SoftTimeLimitExceeded

        logger.exception("reconciliation %s stopped", reconciliation_id)
        reconciliation.status = JobStatus.FAILED
        timed_out = isinstance(error, SoftTimeLimitExceeded)
        reconciliation.error = RECONCILIATION_TIMED_OUT if timed_out else _reconciliation_stopped(reconciliation_id)
        reconciliation.finished_at = timezone.now()
        reconciliation.save(update_fields=["status", "error", "finished_at"])
    softcache.delete(key)
    return reconciliation


# What an import or a reconciliation that ran out of time says (its soft time limit, or the sweep of one whose worker
# was killed at the hard limit: signals.tasks_reconciliation's limits): its transaction was rolled back.
INVOICE_IMPORT_TIMED_OUT = (
    "The import took longer than its 20 minutes and stored nothing: split the file and import the parts one after "
    "another."
)
RECONCILIATION_TIMED_OUT = (
    "The reconciliation took longer than its 20 minutes and stored nothing: reconcile a shorter period, or import the "
    "invoices in smaller files and reconcile each."
)


# What an import or a reconciliation that stopped on an error says: its transaction was rolled back, and the server's
# log says why.
def _import_stopped(import_id: int) -> str:
    return f"The import stopped unexpectedly and stored nothing (invoice import {import_id}, in the server's log)."


def _reconciliation_stopped(reconciliation_id: int) -> str:
    return (
        f"The reconciliation stopped unexpectedly and stored nothing (reconciliation {reconciliation_id}, in the "
        "server's log)."
    )


def stale_reconciliation_jobs_fail(*, now: dt.datetime | None = None) -> list[int]:
    """Fail every invoice import and reconciliation still "running" past its task's hard time limit (and a margin)
    that nobody runs: its worker was killed at the limit, and Celery does not deliver such a task again, so its page
    would say "running" for good. Each says what one stopped at its soft time limit says (INVOICE_IMPORT_TIMED_OUT,
    RECONCILIATION_TIMED_OUT: nothing was stored), and the uploader of an import hears it failed; one whose runner
    lock a session holds is left alone (salesops.job_runner.stale_jobs_fail). Run by the beat's sweep
    (salesops.tasks.fail_stale_jobs). Returns the ids failed, imports' then reconciliations'."""
    from signals.tasks_reconciliation import RECONCILIATION_TIME_LIMIT

    limit = dt.timedelta(seconds=RECONCILIATION_TIME_LIMIT)
    failed_imports: list[InvoiceImport] = []

    def fail_import(record: InvoiceImport) -> None:
        record.status, record.errors, record.error_count = JobStatus.FAILED, [INVOICE_IMPORT_TIMED_OUT], 1
        record.line_count = 0
        record.finished_at = timezone.now()
        record.save(update_fields=["status", "errors", "error_count", "line_count", "finished_at"])
        softcache.delete(import_progress_key(record.pk))
        failed_imports.append(record)

    def fail_reconciliation(reconciliation: Reconciliation) -> None:
        reconciliation.status, reconciliation.error = JobStatus.FAILED, RECONCILIATION_TIMED_OUT
        reconciliation.finished_at = timezone.now()
        reconciliation.save(update_fields=["status", "error", "finished_at"])
        softcache.delete(reconciliation_progress_key(reconciliation.pk))

    imports = stale_jobs_fail(InvoiceImport.objects.all(), runner=INVOICE_IMPORT_RUNNER, running=JobStatus.RUNNING,
                              time_limit=limit, fail=fail_import, now=now)  # fmt: skip
    for record in failed_imports:
        _announce_import(record)
    runs = stale_jobs_fail(Reconciliation.objects.all(), runner=RECONCILIATION_RUNNER, running=JobStatus.RUNNING,
                           time_limit=limit, fail=fail_reconciliation, now=now)  # fmt: skip
    return imports + runs


def _mismatch_row(
    reconciliation_id: int,
    m: engine.Mismatch,
    deals: dict[int, pipeline_reads.WonDealRow],
    numbers: dict[int, str],
    accounts: dict[int, str],
    earlier: Earlier,
) -> tuple[Any, ...]:
    deal = deals.get(m.deal_id) if m.deal_id is not None else None
    status, note, changed_by, changed_at = earlier.get(
        _key(m.kind, m.deal_id, m.line_id), (MismatchStatus.OPEN, "", None, None)
    )
    account = deal.account_name if deal is not None else accounts.get(m.line_id or 0, "")
    return (
        reconciliation_id,
        m.kind,
        m.deal_id,
        m.line_id,
        (deal.name if deal else "")[:200],
        (deal.external_id if deal else "")[:80],
        account[:200],
        deal.owner_id if deal else None,
        m.close_date,
        m.deal_amount,
        numbers.get(m.line_id or 0, "") if m.line_id else "",
        m.invoice_date,
        m.invoice_amount,
        m.difference,
        m.currency[:255],
        m.line_count,
        m.detail[:500],
        status,
        note,
        changed_by,
        changed_at,
    )


# ----------------------------------------------------------------------------------------- mismatch status
NOTE_MAX = 2000


@transaction.atomic
def mismatch_set_status(*, actor: User, mismatch: Mismatch, status: str, note: str | None = None) -> Mismatch:
    """Finance sets a mismatch's status (open, explained, resolved) and its note; audited with old and new."""
    _check_finance(actor)
    if status not in MismatchStatus.values:
        raise DomainError(f"“{status}” is not a status (open, explained or resolved).", field="status")
    record = Mismatch.objects.select_for_update().get(pk=mismatch.pk)
    new_note = record.note if note is None else note.strip()
    if len(new_note) > NOTE_MAX:
        raise DomainError(f"A note has at most {NOTE_MAX} characters.", field="note")
    if status == MismatchStatus.EXPLAINED and not new_note:
        raise DomainError("Say what explains the mismatch in the note.", field="note")
    changes: dict[str, tuple[Any, Any]] = {}
    if record.status != status:
        changes["status"] = (record.status, status)
    if record.note != new_note:
        changes["note"] = (record.note, new_note)
    if not changes:
        return record
    record.status = status
    record.note = new_note
    record.status_changed_by = actor
    record.status_changed_at = timezone.now()
    record.save(update_fields=["status", "note", "status_changed_by", "status_changed_at"])
    audit_record(actor=actor, instance=record, action="update", changes=changes)
    return record


# ------------------------------------------------------------------------------------------------- removal
@transaction.atomic
def invoice_import_purge(*, import_id: int) -> None:
    """Remove an import with its lines, reconciliations, matches and mismatches, and its stored file, in a few
    set-based statements (Django's cascade would load 100,000 lines to delete them one batch at a time). For tools
    that made the import themselves (the bench); people's imports are kept with their audit history."""
    record = InvoiceImport.objects.filter(pk=import_id).first()
    if record is None:
        return
    runs = "SELECT id FROM signals_reconciliation WHERE invoice_import_id = %s"
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM signals_reconciliationmatch WHERE reconciliation_id IN ({runs})", [import_id])
        cursor.execute(f"DELETE FROM signals_mismatch WHERE reconciliation_id IN ({runs})", [import_id])
        cursor.execute("DELETE FROM signals_reconciliation WHERE invoice_import_id = %s", [import_id])
        cursor.execute("DELETE FROM signals_invoiceline WHERE invoice_import_id = %s", [import_id])
    if record.file:
        record.file.delete(save=False)
    InvoiceImport.objects.filter(pk=import_id).delete()
