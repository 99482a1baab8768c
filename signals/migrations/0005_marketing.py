"""The marketing area's tables (signals/models/marketing.py)."""

from decimal import Decimal

import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("signals", "0004_rules"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("pipeline", "0008_lead_handoff_product_gap"),
    ]

    operations: list[migrations.operations.base.Operation] = [
        migrations.CreateModel(
            name="Campaign",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=160)),
                (
                    "type",
                    models.CharField(
                        choices=[
                            ("webinar", "Webinar"),
                            ("event", "Event"),
                            ("email", "E-mail"),
                            ("paid", "Paid media"),
                            ("content", "Content"),
                            ("partner", "Partner"),
                            ("other", "Other"),
                        ],
                        default="other",
                        max_length=10,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[("planned", "Planned"), ("active", "Active"), ("done", "Done")],
                        default="planned",
                        max_length=10,
                    ),
                ),
                ("start_date", models.DateField()),
                ("end_date", models.DateField()),
                ("cost", models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=14)),
                ("description", models.TextField(blank=True, default="")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
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
                    "owner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "ordering": ["-start_date", "name"],
            },
        ),
        migrations.CreateModel(
            name="CampaignMember",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("lead_id", models.BigIntegerField(blank=True, db_index=True, null=True)),
                ("contact_id", models.BigIntegerField(blank=True, db_index=True, null=True)),
                (
                    "status",
                    models.CharField(
                        choices=[("sent", "Sent"), ("responded", "Responded")], default="sent", max_length=10
                    ),
                ),
                ("responded_at", models.DateTimeField(blank=True, null=True)),
                ("added_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="members", to="signals.campaign"
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="CampaignTouch",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("deal_id", models.BigIntegerField()),
                ("contact_id", models.BigIntegerField(blank=True, null=True)),
                ("touched_at", models.DateTimeField()),
                ("added_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                (
                    "added_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="touches", to="signals.campaign"
                    ),
                ),
            ],
            options={
                "ordering": ["touched_at", "id"],
            },
        ),
        migrations.AddConstraint(
            model_name="campaign",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("name"), name="signals_campaign_name_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="campaign",
            constraint=models.CheckConstraint(
                condition=models.Q(("cost__gte", 0)), name="signals_campaign_cost_not_negative"
            ),
        ),
        migrations.AddConstraint(
            model_name="campaign",
            constraint=models.CheckConstraint(
                condition=models.Q(("end_date__gte", models.F("start_date"))), name="signals_campaign_dates"
            ),
        ),
        migrations.AddConstraint(
            model_name="campaignmember",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("lead_id__isnull", False), ("contact_id__isnull", True)),
                    models.Q(("lead_id__isnull", True), ("contact_id__isnull", False)),
                    _connector="OR",
                ),
                name="signals_member_lead_or_contact",
            ),
        ),
        migrations.AddConstraint(
            model_name="campaignmember",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("responded_at__isnull", True), ("status", "sent")),
                    models.Q(("responded_at__isnull", False), ("status", "responded")),
                    _connector="OR",
                ),
                name="signals_member_responded_has_date",
            ),
        ),
        migrations.AddConstraint(
            model_name="campaignmember",
            constraint=models.UniqueConstraint(
                condition=models.Q(("lead_id__isnull", False)),
                fields=("campaign", "lead_id"),
                name="signals_member_lead_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="campaignmember",
            constraint=models.UniqueConstraint(
                condition=models.Q(("contact_id__isnull", False)),
                fields=("campaign", "contact_id"),
                name="signals_member_contact_once",
            ),
        ),
        migrations.AddIndex(
            model_name="campaigntouch",
            index=models.Index(fields=["deal_id", "touched_at"], name="signals_touch_deal_time"),
        ),
        migrations.AddIndex(
            model_name="campaigntouch",
            index=models.Index(fields=["campaign", "touched_at"], name="signals_touch_campaign_time"),
        ),
    ]
