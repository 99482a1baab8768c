"""The leads area's tables (signals/models/leads.py)."""

import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("signals", "0005_marketing"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("pipeline", "0008_lead_handoff_product_gap"),
    ]

    operations: list[migrations.operations.base.Operation] = [
        migrations.CreateModel(
            name="ResponseSla",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "source",
                    models.CharField(blank=True, default="", help_text="Blank: any other source.", max_length=80),
                ),
                ("minutes", models.PositiveIntegerField(help_text="Minutes from routing to the first answer.")),
                ("is_active", models.BooleanField(default=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "verbose_name": "response SLA",
                "ordering": ["source"],
                "constraints": [
                    models.UniqueConstraint(
                        django.db.models.functions.text.Lower("source"), name="signals_response_sla_unique_source"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("minutes__gt", 0)), name="signals_response_sla_minutes_positive"
                    ),
                ],
            },
        ),
    ]
