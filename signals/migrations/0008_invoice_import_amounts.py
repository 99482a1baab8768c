"""An invoice import's total per currency (`amounts`); `total_amount` only when its lines share one currency.

Amounts in different currencies are never added (no exchange rates are kept): imports stored before this keep
their lines, from which both are worked out again here."""

from decimal import Decimal

from django.db import migrations, models
from django.db.models import Sum


def per_currency(apps, schema_editor):
    InvoiceImport = apps.get_model("signals", "InvoiceImport")
    InvoiceLine = apps.get_model("signals", "InvoiceLine")
    totals: dict[int, dict[str, Decimal]] = {}
    for import_id, currency, amount in (
        InvoiceLine.objects.values("invoice_import_id", "currency")
        .annotate(amount=Sum("amount"))
        .values_list("invoice_import_id", "currency", "amount")
    ):
        totals.setdefault(import_id, {})[currency] = amount
    for import_id, by_currency in totals.items():
        InvoiceImport.objects.filter(pk=import_id).update(
            amounts={currency: str(amount) for currency, amount in sorted(by_currency.items())},
            total_amount=next(iter(by_currency.values())) if len(by_currency) == 1 else None,
        )


def summed(apps, schema_editor):
    # Back to one number per import (what the earlier schema holds), as it was stored before.
    InvoiceImport = apps.get_model("signals", "InvoiceImport")
    for record in InvoiceImport.objects.filter(total_amount__isnull=True):
        record.total_amount = sum((Decimal(a) for a in record.amounts.values()), Decimal("0.00"))
        record.save(update_fields=["total_amount"])


class Migration(migrations.Migration):
    dependencies = [("signals", "0007_reconciliation")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AddField(
            model_name="invoiceimport",
            name="amounts",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AlterField(
            model_name="invoiceimport",
            name="total_amount",
            field=models.DecimalField(blank=True, decimal_places=2, default=Decimal("0.00"), max_digits=18, null=True),
        ),
        migrations.RunPython(per_currency, summed),
    ]
