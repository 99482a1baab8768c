"""Every fact row carries its deal's account, so a territory (its account's, in the active territory model) is
joined from the facts instead of the whole deal table. Existing rows are filled from the pipeline's deal feed."""

from django.db import migrations, models


FILL = """
UPDATE reporting_dealfact f SET account_id = d.account_id
FROM pipeline_deal_feed d WHERE d.id = f.deal_id AND d.account_id IS NOT NULL;
UPDATE reporting_creditfact c SET account_id = f.account_id
FROM reporting_dealfact f WHERE f.deal_id = c.deal_id AND f.account_id IS NOT NULL;
UPDATE reporting_stagespell s SET account_id = f.account_id
FROM reporting_dealfact f WHERE f.deal_id = s.deal_id AND f.account_id IS NOT NULL;
UPDATE reporting_closedatepush p SET account_id = f.account_id
FROM reporting_dealfact f WHERE f.deal_id = p.deal_id AND f.account_id IS NOT NULL;
"""


class Migration(migrations.Migration):
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
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
    ]
