# When a worker claimed an invoice import's or a reconciliation's run: one "running" longer than the task's hard time
# limit lost its worker and is taken over by the task's next copy (signals/services/reconciliation.py).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("signals", "0011_mismatch_amounts_per_currency"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoiceimport",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="reconciliation",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
