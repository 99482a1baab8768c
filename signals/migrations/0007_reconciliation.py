"""The reconciliation area's tables (signals/models/reconciliation.py)."""

from decimal import Decimal

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

STATUS = [("pending", "Waiting"), ("running", "Running"), ("done", "Done"), ("failed", "Failed")]


class Migration(migrations.Migration):
    dependencies = [
        ("signals", "0006_leads"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("pipeline", "0008_lead_handoff_product_gap"),
    ]

    operations: list[migrations.operations.base.Operation] = [
        migrations.CreateModel(
            name="InvoiceImport",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("file_name", models.CharField(max_length=255)),
                ("file", models.FileField(upload_to="signals/invoices/%Y/%m/")),
                ("status", models.CharField(choices=STATUS, default="pending", max_length=8)),
                ("rows_total", models.PositiveIntegerField(default=0)),
                ("line_count", models.PositiveIntegerField(default=0)),
                ("error_count", models.PositiveIntegerField(default=0)),
                ("errors", models.JSONField(blank=True, default=list)),
                ("first_invoice_date", models.DateField(blank=True, null=True)),
                ("last_invoice_date", models.DateField(blank=True, null=True)),
                ("total_amount", models.DecimalField(decimal_places=2, default=Decimal("0.00"), max_digits=18)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={"ordering": ["-created_at", "-id"]},
        ),
        migrations.CreateModel(
            name="InvoiceLine",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("row", models.PositiveIntegerField(help_text="The row of the file, as a spreadsheet numbers it.")),
                ("invoice_number", models.CharField(max_length=80)),
                ("invoice_date", models.DateField()),
                ("amount", models.DecimalField(decimal_places=2, max_digits=14)),
                ("currency", models.CharField(max_length=3)),
                ("deal_external_id", models.CharField(blank=True, default="", max_length=80)),
                (
                    "deal_id",
                    models.BigIntegerField(
                        blank=True, null=True, help_text="The hub's deal number, when billing has it."
                    ),
                ),
                ("account_name", models.CharField(max_length=200)),
                ("description", models.CharField(blank=True, default="", max_length=500)),
                (
                    "invoice_import",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lines",
                        to="signals.invoiceimport",
                    ),
                ),
            ],
            options={
                "ordering": ["invoice_import", "row"],
                "indexes": [models.Index(fields=["invoice_import", "invoice_date"], name="sig_invline_import_date")],
            },
        ),
        migrations.CreateModel(
            name="Reconciliation",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("period_start", models.DateField()),
                ("period_end", models.DateField()),
                ("tolerance", models.DecimalField(decimal_places=2, default=Decimal("0.00"), max_digits=14)),
                ("days_before", models.PositiveSmallIntegerField(default=30)),
                ("days_after", models.PositiveSmallIntegerField(default=90)),
                ("status", models.CharField(choices=STATUS, default="pending", max_length=8)),
                ("deal_count", models.PositiveIntegerField(default=0)),
                ("line_count", models.PositiveIntegerField(default=0)),
                ("matched_deal_count", models.PositiveIntegerField(default=0)),
                ("matched_line_count", models.PositiveIntegerField(default=0)),
                ("counts", models.JSONField(blank=True, default=dict)),
                ("error", models.CharField(blank=True, default="", max_length=500)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "invoice_import",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="reconciliations",
                        to="signals.invoiceimport",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("period_end__gte", models.F("period_start"))), name="sig_recon_period"
                    ),
                    models.CheckConstraint(condition=models.Q(("tolerance__gte", 0)), name="sig_recon_tolerance"),
                ],
            },
        ),
        migrations.CreateModel(
            name="ReconciliationMatch",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("deal_id", models.BigIntegerField()),
                ("rule", models.CharField(max_length=12)),
                (
                    "line",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="signals.invoiceline"
                    ),
                ),
                (
                    "reconciliation",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="matches",
                        to="signals.reconciliation",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["reconciliation", "deal_id"], name="sig_recon_match_deal")],
                "constraints": [models.UniqueConstraint(fields=("reconciliation", "line"), name="sig_recon_line_once")],
            },
        ),
        migrations.CreateModel(
            name="Mismatch",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("no_invoice", "No invoice"),
                            ("amount_differs", "Amount differs"),
                            ("invoiced_before_close", "Invoiced before close"),
                            ("invoice_without_deal", "Invoice without deal"),
                        ],
                        max_length=24,
                    ),
                ),
                ("deal_id", models.BigIntegerField(blank=True, null=True)),
                ("deal_name", models.CharField(blank=True, default="", max_length=200)),
                ("deal_external_id", models.CharField(blank=True, default="", max_length=80)),
                ("account_name", models.CharField(blank=True, default="", max_length=200)),
                ("owner_id", models.BigIntegerField(blank=True, null=True)),
                ("close_date", models.DateField(blank=True, null=True)),
                ("deal_amount", models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True)),
                ("invoice_number", models.CharField(blank=True, default="", max_length=80)),
                ("invoice_date", models.DateField(blank=True, null=True)),
                ("invoice_amount", models.DecimalField(blank=True, decimal_places=2, max_digits=18, null=True)),
                ("difference", models.DecimalField(blank=True, decimal_places=2, max_digits=18, null=True)),
                ("currency", models.CharField(blank=True, default="", max_length=16)),
                ("line_count", models.PositiveIntegerField(default=0)),
                ("detail", models.CharField(blank=True, default="", max_length=500)),
                (
                    "status",
                    models.CharField(
                        choices=[("open", "Open"), ("explained", "Explained"), ("resolved", "Resolved")],
                        default="open",
                        max_length=10,
                    ),
                ),
                ("note", models.TextField(blank=True, default="")),
                ("status_changed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "line",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="signals.invoiceline",
                    ),
                ),
                (
                    "reconciliation",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="mismatches",
                        to="signals.reconciliation",
                    ),
                ),
                (
                    "status_changed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["reconciliation", "kind", "id"],
                "indexes": [
                    models.Index(fields=["reconciliation", "kind", "status"], name="sig_mismatch_kind_status"),
                    models.Index(fields=["reconciliation", "status"], name="sig_mismatch_status"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("deal_id__isnull", False), ("line__isnull", False), _connector="OR"),
                        name="sig_mismatch_about",
                    ),
                ],
            },
        ),
    ]
