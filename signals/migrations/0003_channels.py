"""The channels area's tables (signals/models/channels.py)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("signals", "0002_notifications"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("pipeline", "0008_lead_handoff_product_gap"),
        ("org", "0004_signinevent"),
    ]

    operations: list[migrations.operations.base.Operation] = [
        migrations.CreateModel(
            name="Channel",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("email", "E-mail"),
                            ("slack", "Slack"),
                            ("teams", "Microsoft Teams"),
                            ("webhook", "Webhook"),
                        ],
                        max_length=10,
                    ),
                ),
                ("name", models.CharField(max_length=120, unique=True)),
                ("addresses", models.JSONField(blank=True, default=list)),
                ("url_encrypted", models.TextField(blank=True, default="")),
                ("secret_encrypted", models.TextField(blank=True, default="")),
                ("is_default", models.BooleanField(default=False, verbose_name="company default")),
                ("is_active", models.BooleanField(default=True, verbose_name="active")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "team",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="org.team",
                    ),
                ),
            ],
            options={
                "ordering": ["kind", "name"],
            },
        ),
        migrations.CreateModel(
            name="Delivery",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("channel_name", models.CharField(blank=True, default="", max_length=120)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("email", "E-mail"),
                            ("slack", "Slack"),
                            ("teams", "Microsoft Teams"),
                            ("webhook", "Webhook"),
                        ],
                        max_length=10,
                    ),
                ),
                ("to_email", models.CharField(blank=True, default="", max_length=254)),
                ("source", models.CharField(max_length=100)),
                ("payload", models.JSONField(default=dict)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("sent", "Sent"),
                            ("retrying", "Retrying"),
                            ("failed", "Failed"),
                        ],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("max_attempts", models.PositiveSmallIntegerField(default=5)),
                ("last_error", models.TextField(blank=True, default="")),
                ("response_code", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                ("sent_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "channel",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        db_index=False,
                        related_name="deliveries",
                        to="signals.channel",
                    ),
                ),
                (
                    "person",
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
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="DeliveryAttempt",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("number", models.PositiveSmallIntegerField()),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                ("ok", models.BooleanField(default=False)),
                ("response_code", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("error", models.TextField(blank=True, default="")),
                ("duration_ms", models.PositiveIntegerField(default=0)),
                (
                    "delivery",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="attempt_rows", to="signals.delivery"
                    ),
                ),
            ],
            options={
                "ordering": ["delivery", "number"],
            },
        ),
        migrations.AddConstraint(
            model_name="channel",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["email", "slack", "teams", "webhook"])),
                name="signals_channel_kind_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="channel",
            constraint=models.CheckConstraint(
                condition=models.Q(("is_default", True), ("team__isnull", False), _negated=True),
                name="signals_channel_default_not_team",
            ),
        ),
        migrations.AddConstraint(
            model_name="channel",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_active", True), ("is_default", True)),
                fields=("kind",),
                name="signals_channel_one_default",
            ),
        ),
        migrations.AddConstraint(
            model_name="channel",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_active", True), ("team__isnull", False)),
                fields=("kind", "team"),
                name="signals_channel_one_per_team",
            ),
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(fields=["-created_at", "-id"], name="signals_delivery_recent"),
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(fields=["channel", "-created_at"], name="signals_delivery_channel"),
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(fields=["status", "-created_at"], name="signals_delivery_status"),
        ),
        migrations.AddConstraint(
            model_name="delivery",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["pending", "sent", "retrying", "failed"])),
                name="signals_delivery_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="delivery",
            constraint=models.CheckConstraint(
                condition=models.Q(("channel_name__gt", ""), ("to_email__gt", ""), _connector="OR"),
                name="signals_delivery_has_target",
            ),
        ),
        migrations.AddConstraint(
            model_name="deliveryattempt",
            constraint=models.UniqueConstraint(fields=("delivery", "number"), name="signals_delivery_attempt_once"),
        ),
    ]
