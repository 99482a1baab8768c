"""The fiscal calendar's settings move from incentives to org, below every app. State only: the table
`incentives_fiscalcalendar` keeps its name, its constraint and its row. Runs after incentives created the
table (0001) and before incentives forgets the model (0006_fiscal_calendar_moves_to_org)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("org", "0002_api_token"),
        ("incentives", "0005_quota_upload_job"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="FiscalCalendar",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("fiscal_year_start_month", models.PositiveSmallIntegerField(default=1)),
                        ("currency", models.CharField(default="USD", max_length=3)),
                    ],
                    options={
                        "db_table": "incentives_fiscalcalendar",
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("fiscal_year_start_month__gte", 1), ("fiscal_year_start_month__lte", 12)
                                ),
                                name="calendar_start_month_1_12",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
