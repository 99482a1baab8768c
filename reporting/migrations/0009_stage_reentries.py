"""Each stay in a stage knows when its deal was last in the same stage before, so stage conversion counts deals,
not stays: a deal entering a stage twice in a range is one deal that entered it (docs/kpis.md).

Existing stays are filled from each other (a deal's stays of one stage, in the order they began). The covering
indexes of stays by day of entry carry the new column, so the filtered counts still read the indexes only. The
company's months get the re-entries beside their stays (reporting_stagereentrymonth), filled from the stays."""

from django.db import migrations, models

FILL = """
UPDATE reporting_stagespell s SET prev_entered_on = x.prev
FROM (SELECT id, LAG(entered_on) OVER (PARTITION BY deal_id, stage_id ORDER BY entered_on, id) AS prev
      FROM reporting_stagespell) x
WHERE x.id = s.id AND x.prev IS NOT NULL
"""
REENTRIES = """
INSERT INTO reporting_stagereentrymonth (month, prev_month, pipeline_id, stage_id, product_id, entered, advanced)
SELECT date_trunc('month', s.entered_on)::date, date_trunc('month', s.prev_entered_on)::date, s.pipeline_id,
       s.stage_id, s.product_id, COUNT(*), SUM(s.advanced::int)
FROM reporting_stagespell s WHERE s.prev_entered_on IS NOT NULL
GROUP BY 1, 2, 3, 4, 5
"""


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0008_territory_basis_and_feed_gaps"),
    ]

    operations = [
        migrations.CreateModel(
            name="StageReentryMonth",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField(help_text="First day of the month the stay began.")),
                (
                    "prev_month",
                    models.DateField(help_text="First day of the month of the deal's previous entry into the stage."),
                ),
                ("pipeline_id", models.IntegerField()),
                ("stage_id", models.IntegerField()),
                ("product_id", models.IntegerField(default=0)),
                ("entered", models.IntegerField(default=0)),
                ("advanced", models.IntegerField(default=0)),
            ],
        ),
        migrations.RemoveIndex(
            model_name="stagespell",
            name="rep_spell_entered",
        ),
        migrations.RemoveIndex(
            model_name="stagespell",
            name="rep_spell_owner_entered",
        ),
        migrations.AddField(
            model_name="stagespell",
            name="prev_entered_on",
            field=models.DateField(
                help_text="When the deal last entered this stage before this stay (null: its first).", null=True
            ),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="stagespell",
            index=models.Index(
                fields=["entered_on"],
                include=("stage_id", "owner_id", "pipeline_id", "product_id", "advanced", "prev_entered_on"),
                name="rep_spell_entered",
            ),
        ),
        migrations.AddIndex(
            model_name="stagespell",
            index=models.Index(
                fields=["owner_id", "entered_on"],
                include=("stage_id", "pipeline_id", "product_id", "advanced", "prev_entered_on"),
                name="rep_spell_owner_entered",
            ),
        ),
        migrations.AddConstraint(
            model_name="stagereentrymonth",
            constraint=models.UniqueConstraint(
                fields=("month", "prev_month", "pipeline_id", "stage_id", "product_id"), name="rep_stagereentry_unique"
            ),
        ),
        migrations.RunSQL(REENTRIES, migrations.RunSQL.noop),
    ]
