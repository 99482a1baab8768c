"""Each stay in a stage knows when its deal was last in the same stage before, so stage conversion counts deals,
not stays: a deal entering a stage twice in a range is one deal that entered it (docs/kpis.md). Existing stays
are filled from each other (a deal's stays of one stage, in the order they began), and the covering indexes of
stays by day of entry carry the new column, so the counts still read the indexes only."""

from django.db import migrations, models

FILL = """
UPDATE reporting_stagespell s SET prev_entered_on = x.prev
FROM (SELECT id, LAG(entered_on) OVER (PARTITION BY deal_id, stage_id ORDER BY entered_on, id) AS prev
      FROM reporting_stagespell) x
WHERE x.id = s.id AND x.prev IS NOT NULL
"""


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0008_territory_basis_and_feed_gaps"),
    ]

    operations = [
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
                condition=models.Q(("prev_entered_on__isnull", False)),
                fields=["entered_on"],
                include=("stage_id", "pipeline_id", "product_id", "advanced", "prev_entered_on"),
                name="rep_spell_reentered",
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
    ]
