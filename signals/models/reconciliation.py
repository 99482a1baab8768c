"""Models of signals: finance reconciliation: invoice lines imported, matched to won deals, mismatches with a status.

An `InvoiceImport` is one uploaded file and its lines (`InvoiceLine`, stored only when every row of the file is
valid). A `Reconciliation` matches an import's lines to the won deals closed in a period and keeps its matches
(`ReconciliationMatch`) and mismatches (`Mismatch`); finance sets each mismatch's status (open, explained,
resolved) with a note, every change audited. Deals are named by plain ids (cross-app rule); a mismatch keeps a
copy of what it showed when it was found (the deal's name, account, amount, close date), so the list reads
without joining the pipeline and says what finance saw. docs/signals-reconciliation.md.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from signals.engine.reconciliation import is_one_currency

__all__ = [
    "InvoiceImport",
    "InvoiceLine",
    "JobStatus",
    "Mismatch",
    "MismatchKind",
    "MismatchStatus",
    "Reconciliation",
    "ReconciliationMatch",
]


class JobStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class MismatchKind(models.TextChoices):
    NO_INVOICE = "no_invoice", "No invoice"
    AMOUNT_DIFFERS = "amount_differs", "Amount differs"
    INVOICED_BEFORE_CLOSE = "invoiced_before_close", "Invoiced before close"
    INVOICE_WITHOUT_DEAL = "invoice_without_deal", "Invoice without deal"


class MismatchStatus(models.TextChoices):
    OPEN = "open", "Open"
    EXPLAINED = "explained", "Explained"
    RESOLVED = "resolved", "Resolved"


class InvoiceImport(models.Model):
    """One uploaded invoice file: checked row by row by a Celery task; its lines are stored only when no row is
    refused (a file with a bad row stores nothing and lists every refused row)."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    file_name = models.CharField(max_length=255)
    file = models.FileField(upload_to="signals/invoices/%Y/%m/")
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.PENDING)
    rows_total = models.PositiveIntegerField(default=0)
    line_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # the first refused rows, "row 7: …"
    first_invoice_date = models.DateField(null=True, blank=True)
    last_invoice_date = models.DateField(null=True, blank=True)
    # The lines' total in each currency, {"EUR": "650.00", "USD": "1600.00"}: no exchange rates are kept, so amounts
    # in different currencies are never added. `total_amount` is the total only when every line is in one currency.
    amounts = models.JSONField(default=dict, blank=True)
    total_amount = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0.00"), null=True, blank=True)
    # When a worker claimed the run: one "running" longer than the task's hard time limit lost its worker and is
    # taken over by the task's next copy (invoice_import_execute).
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"invoice import {self.file_name} ({self.get_status_display()})"

    @property
    def amounts_by_currency(self) -> list[tuple[str, Decimal]]:
        """The lines' totals, one per currency in code order, as the pages show them."""
        return [(currency, Decimal(amount)) for currency, amount in sorted(self.amounts.items())]


class InvoiceLine(models.Model):
    # Indexed by sig_invline_import_date (its first column): no second index to keep up on 100,000-row COPYs.
    invoice_import = models.ForeignKey(InvoiceImport, on_delete=models.CASCADE, related_name="lines", db_index=False)
    row = models.PositiveIntegerField(help_text="The row of the file, as a spreadsheet numbers it.")
    invoice_number = models.CharField(max_length=80)
    invoice_date = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    deal_external_id = models.CharField(max_length=80, blank=True, default="")
    deal_id = models.BigIntegerField(null=True, blank=True, help_text="The hub's deal number, when billing has it.")
    account_name = models.CharField(max_length=200)
    description = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["invoice_import", "row"]
        indexes = [models.Index(fields=["invoice_import", "invoice_date"], name="sig_invline_import_date")]

    def __str__(self) -> str:
        return f"invoice {self.invoice_number} row {self.row}"


class Reconciliation(models.Model):
    """An import's lines matched to the won deals closed between `period_start` and `period_end`."""

    invoice_import = models.ForeignKey(InvoiceImport, on_delete=models.CASCADE, related_name="reconciliations")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    period_start = models.DateField()
    period_end = models.DateField()
    tolerance = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    days_before = models.PositiveSmallIntegerField(default=30)
    days_after = models.PositiveSmallIntegerField(default=90)
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.PENDING)
    deal_count = models.PositiveIntegerField(default=0)
    line_count = models.PositiveIntegerField(default=0)
    matched_deal_count = models.PositiveIntegerField(default=0)
    matched_line_count = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)  # mismatches per kind
    error = models.CharField(max_length=500, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)  # when a worker claimed the run (as an import's)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")), name="sig_recon_period"),
            models.CheckConstraint(condition=Q(tolerance__gte=0), name="sig_recon_tolerance"),
        ]

    def __str__(self) -> str:
        return f"reconciliation {self.pk} of {self.invoice_import.file_name}"


class ReconciliationMatch(models.Model):
    reconciliation = models.ForeignKey(
        Reconciliation, on_delete=models.CASCADE, related_name="matches", db_index=False
    )  # indexed by sig_recon_line_once
    line = models.ForeignKey(InvoiceLine, on_delete=models.CASCADE, related_name="+")
    deal_id = models.BigIntegerField()
    rule = models.CharField(max_length=12)  # external_id | account

    class Meta:
        constraints = [models.UniqueConstraint(fields=["reconciliation", "line"], name="sig_recon_line_once")]
        indexes = [models.Index(fields=["reconciliation", "deal_id"], name="sig_recon_match_deal")]

    def __str__(self) -> str:
        return f"line {self.line_id} → deal {self.deal_id} ({self.rule})"


class Mismatch(models.Model):
    reconciliation = models.ForeignKey(
        Reconciliation, on_delete=models.CASCADE, related_name="mismatches", db_index=False
    )  # indexed by sig_mismatch_kind_status
    kind = models.CharField(max_length=24, choices=MismatchKind.choices)
    deal_id = models.BigIntegerField(null=True, blank=True)
    line = models.ForeignKey(InvoiceLine, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # What the mismatch showed when it was found (the deal may change later; the list says what finance saw).
    deal_name = models.CharField(max_length=200, blank=True, default="")
    deal_external_id = models.CharField(max_length=80, blank=True, default="")
    account_name = models.CharField(max_length=200, blank=True, default="")
    owner_id = models.BigIntegerField(null=True, blank=True)
    close_date = models.DateField(null=True, blank=True)
    deal_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    invoice_number = models.CharField(max_length=80, blank=True, default="")
    invoice_date = models.DateField(null=True, blank=True)
    invoice_amount = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    difference = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    # One code, or the codes of a deal invoiced in several ("EUR/GBP/USD"; `engine.currencies_label`).
    currency = models.CharField(max_length=255, blank=True, default="")
    line_count = models.PositiveIntegerField(default=0)
    detail = models.CharField(max_length=500, blank=True, default="")
    status = models.CharField(max_length=10, choices=MismatchStatus.choices, default=MismatchStatus.OPEN)
    note = models.TextField(blank=True, default="")
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["reconciliation", "kind", "id"]
        indexes = [
            models.Index(fields=["reconciliation", "kind", "status"], name="sig_mismatch_kind_status"),
            models.Index(fields=["reconciliation", "status"], name="sig_mismatch_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(deal_id__isnull=False) | Q(line__isnull=False), name="sig_mismatch_about"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.deal_name or self.invoice_number}"

    @property
    def invoiced(self) -> Decimal | None:
        """The invoiced amount as shown: none for a deal invoiced in several currencies (never one sum across
        them, also on a row stored before they were kept apart: migration 0011)."""
        return self.invoice_amount if is_one_currency(self.currency) else None
