"""The notifications area's tables (signals/models/notifications.py)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

KINDS = [
    ("dispute_raised", "Dispute raised"),
    ("dispute_resolved", "Dispute resolved"),
    ("period_locked", "Period locked"),
    ("forecast_call_due", "Forecast call due"),
    ("forecast_call_missing", "Forecast call missing"),
    ("deal_assigned", "Deal assigned to you"),
    ("stage_move_refused", "Stage move refused"),
    ("import_finished", "Import finished"),
    ("adjustment_booked", "Adjustment booked"),
    ("rule_fired", "Rule fired"),
    ("sla_breach", "Lead response SLA breached"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("signals", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("pipeline", "0008_lead_handoff_product_gap"),
    ]

    operations = [
        migrations.CreateModel(
            name="Notification",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=KINDS, max_length=32)),
                ("title", models.CharField(max_length=200)),
                ("body", models.TextField(blank=True, default="")),
                (
                    "url",
                    models.CharField(blank=True, default="", help_text="A page of the hub (a path).", max_length=500),
                ),
                (
                    "dedupe_key",
                    models.CharField(
                        blank=True,
                        default="",
                        help_text="The same key never notifies the same person twice.",
                        max_length=200,
                    ),
                ),
                ("in_app", models.BooleanField(default=True, help_text="Shown in the bell and the list.")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("read_at", models.DateTimeField(blank=True, null=True)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "recipient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("in_app", True)),
                        fields=["recipient", "-read_at", "-created_at", "-id"],
                        name="notification_recipient_read",
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("dedupe_key", ""), _negated=True),
                        fields=("recipient", "dedupe_key"),
                        name="notification_dedupe_once",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="NotificationPreference",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=KINDS, max_length=32)),
                ("in_app", models.BooleanField(default=True)),
                ("email", models.BooleanField(default=False)),
                ("slack", models.BooleanField(default=False)),
                ("teams", models.BooleanField(default=False)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "person",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "ordering": ["person", "kind"],
                "constraints": [
                    models.UniqueConstraint(fields=("person", "kind"), name="notification_preference_once")
                ],
            },
        ),
    ]
