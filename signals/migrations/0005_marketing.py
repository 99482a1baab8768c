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
        migrations.CreateModel(
            name="Rule",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=160)),
                ("description", models.TextField(blank=True, default="")),
                (
                    "trigger",
                    models.CharField(
                        choices=[
                            ("deal_change", "A deal changes"),
                            ("schedule", "On a schedule"),
                            ("kpi", "A KPI crosses a threshold"),
                            ("lead_sla", "A lead's response SLA is breached"),
                        ],
                        default="deal_change",
                        max_length=12,
                    ),
                ),
                ("conditions", models.CharField(blank=True, default="", max_length=1000)),
                ("every_minutes", models.PositiveIntegerField(blank=True, null=True)),
                ("daily_hour", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("kpi", models.CharField(blank=True, default="", max_length=24)),
                ("kpi_scope", models.CharField(blank=True, default="", max_length=8)),
                ("kpi_scope_id", models.BigIntegerField(blank=True, null=True)),
                ("kpi_direction", models.CharField(blank=True, default="", max_length=5)),
                ("kpi_threshold", models.DecimalField(blank=True, decimal_places=2, max_digits=16, null=True)),
                ("actions", models.JSONField(blank=True, default=list)),
                ("is_live", models.BooleanField(default=False)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("last_run_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "ordering": ["name", "id"],
            },
        ),
        migrations.CreateModel(
            name="RuleEpisode",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "subject_kind",
                    models.CharField(
                        choices=[("deal", "Deal"), ("lead", "Lead"), ("kpi", "KPI scope")], default="deal", max_length=4
                    ),
                ),
                ("subject_id", models.BigIntegerField()),
                ("started_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("ended_at", models.DateTimeField(blank=True, null=True)),
                (
                    "rule",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="episodes", to="signals.rule"
                    ),
                ),
            ],
            options={
                "ordering": ["-started_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="RuleFiring",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "subject_kind",
                    models.CharField(
                        choices=[("deal", "Deal"), ("lead", "Lead"), ("kpi", "KPI scope")], default="deal", max_length=4
                    ),
                ),
                ("subject_id", models.BigIntegerField()),
                ("subject_label", models.CharField(blank=True, default="", max_length=200)),
                ("fired_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("results", models.JSONField(blank=True, default=list)),
                (
                    "episode",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="signals.ruleepisode",
                    ),
                ),
                (
                    "rule",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="firings", to="signals.rule"
                    ),
                ),
            ],
            options={
                "ordering": ["-fired_at", "-id"],
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
        migrations.AddIndex(
            model_name="rule",
            index=models.Index(condition=models.Q(("is_live", True)), fields=["trigger"], name="rule_live_by_trigger"),
        ),
        migrations.AddConstraint(
            model_name="rule",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("daily_hour__isnull", True),
                    models.Q(("daily_hour__gte", 0), ("daily_hour__lte", 23)),
                    _connector="OR",
                ),
                name="rule_daily_hour_0_23",
            ),
        ),
        migrations.AddConstraint(
            model_name="rule",
            constraint=models.CheckConstraint(
                condition=models.Q(("every_minutes__isnull", True), ("every_minutes__gte", 5), _connector="OR"),
                name="rule_every_5_minutes_or_more",
            ),
        ),
        migrations.AddIndex(
            model_name="ruleepisode",
            index=models.Index(fields=["subject_kind", "subject_id"], name="rule_episode_subject"),
        ),
        migrations.AddConstraint(
            model_name="ruleepisode",
            constraint=models.UniqueConstraint(
                condition=models.Q(("ended_at__isnull", True)),
                fields=("rule", "subject_kind", "subject_id"),
                name="rule_one_open_episode",
            ),
        ),
        migrations.AddConstraint(
            model_name="ruleepisode",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("ended_at__isnull", True), ("ended_at__gte", models.F("started_at")), _connector="OR"
                ),
                name="rule_episode_ends_after_start",
            ),
        ),
        migrations.AddIndex(
            model_name="rulefiring",
            index=models.Index(fields=["rule", "fired_at"], name="rule_firing_rule_time"),
        ),
    ]
