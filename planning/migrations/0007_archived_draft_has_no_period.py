"""A draft archived before it was ever active was given an end date (effective to = yesterday) though it had no
period: it has none, as a draft archived from now on. Only a model that was active has an effective from."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("planning", "0006_stresstest_started_at")]

    operations = [
        migrations.RunSQL(
            "UPDATE planning_territorymodel SET effective_to = NULL"
            " WHERE status = 'archived' AND effective_from IS NULL AND effective_to IS NOT NULL;",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
