"""The company's monthly sums per territory (reporting_territorymonth), built by the next refresh of the reports
for the active territory model; until then the territory breakdown reads the facts."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0006_company_indexes_carry_account"),
        ("planning", "0004_active_model_published_view"),
    ]

    operations = [
        migrations.AddField(
            model_name="refreshstate",
            name="territory_rollup_for",
            field=models.CharField(blank=True, default="", max_length=80),
        ),
        migrations.CreateModel(
            name="TerritoryMonth",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField(help_text="First day of the close month.")),
                (
                    "territory_id",
                    models.BigIntegerField(help_text="None: the deal's account is in no territory.", null=True),
                ),
                ("pipeline_id", models.IntegerField()),
                ("won_count", models.IntegerField(default=0)),
                ("lost_count", models.IntegerField(default=0)),
                ("won_amount", models.DecimalField(decimal_places=2, default=0, max_digits=18)),
                ("cycle_days_sum", models.BigIntegerField(default=0)),
                ("cycle_count", models.IntegerField(default=0)),
                ("credited", models.DecimalField(decimal_places=6, default=0, max_digits=22)),
                ("open_count", models.IntegerField(default=0)),
                ("open_amount", models.DecimalField(decimal_places=2, default=0, max_digits=18)),
                ("weighted_amount", models.DecimalField(decimal_places=6, default=0, max_digits=22)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("month", "territory_id", "pipeline_id"),
                        name="rep_territorymonth_unique",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
    ]
