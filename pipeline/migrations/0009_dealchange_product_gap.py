"""The deal history names a product gap change (signals' win/loss, docs/signals-winloss.md): choices only."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0008_lead_handoff_product_gap"),
    ]

    operations = [
        migrations.AlterField(
            model_name="dealchange",
            name="field",
            field=models.CharField(
                choices=[
                    ("created", "Created"),
                    ("stage", "Stage"),
                    ("amount", "Amount"),
                    ("close_date", "Close date"),
                    ("owner", "Owner"),
                    ("category", "Forecast category"),
                    ("splits", "Splits"),
                    ("cancelled", "Cancelled"),
                    ("lost_reason", "Lost reason"),
                    ("lost_note", "Lost note"),
                    ("competitor", "Competitor"),
                    ("product_gap", "Product gap"),
                ],
                max_length=12,
            ),
        ),
    ]
