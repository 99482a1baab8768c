"""Every fact row carries its deal's account, so a territory (its account's, in the active territory model) is
joined from the facts instead of the whole deal table. Existing rows are filled from the pipeline's deal feed.

Not one transaction: the new columns commit at once (an instant change), then each table is filled by its own
statement, which holds row locks only (dashboards keep reading the facts meanwhile), and vacuumed, so the
index-only reads of the KPIs do not fall back to the table while autovacuum catches up. Facts another process
writes with the old code during the upgrade have no account until their deal changes or the facts are rebuilt
(`manage.py reporting_refresh --full`)."""

from django.db import migrations, models


FILL = [
    "UPDATE reporting_dealfact f SET account_id = d.account_id "
    "FROM pipeline_deal_feed d WHERE d.id = f.deal_id AND d.account_id IS NOT NULL",
    "UPDATE reporting_creditfact c SET account_id = f.account_id "
    "FROM reporting_dealfact f WHERE f.deal_id = c.deal_id AND f.account_id IS NOT NULL",
    "UPDATE reporting_stagespell s SET account_id = f.account_id "
    "FROM reporting_dealfact f WHERE f.deal_id = s.deal_id AND f.account_id IS NOT NULL",
    "UPDATE reporting_closedatepush p SET account_id = f.account_id "
    "FROM reporting_dealfact f WHERE f.deal_id = p.deal_id AND f.account_id IS NOT NULL",
]
VACUUM = [
    f"VACUUM (ANALYZE) {table}"
    for table in ("reporting_dealfact", "reporting_creditfact", "reporting_stagespell", "reporting_closedatepush")
]


class Migration(migrations.Migration):
    atomic = False
    dependencies = [
        ("reporting", "0004_people_with_facts"),
        ("pipeline", "0006_published_views"),
    ]

    operations = [
        migrations.AddField(
            model_name="closedatepush",
            name="account_id",
            field=models.BigIntegerField(help_text="The deal's account: its territory is the account's.", null=True),
        ),
        migrations.AddField(
            model_name="creditfact",
            name="account_id",
            field=models.BigIntegerField(help_text="The deal's account: its territory is the account's.", null=True),
        ),
        migrations.AddField(
            model_name="dealfact",
            name="account_id",
            field=models.BigIntegerField(help_text="The deal's account: its territory is the account's.", null=True),
        ),
        migrations.AddField(
            model_name="stagespell",
            name="account_id",
            field=models.BigIntegerField(help_text="The deal's account: its territory is the account's.", null=True),
        ),
        *[migrations.RunSQL(sql, migrations.RunSQL.noop) for sql in FILL],
        *[migrations.RunSQL(sql, migrations.RunSQL.noop) for sql in VACUUM],
    ]
