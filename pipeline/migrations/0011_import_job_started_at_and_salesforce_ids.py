# An import job's run says when a worker claimed it (a run "running" past the task's hard time limit lost its
# worker and is taken over, pipeline/imports/services.py); deals are found by a Salesforce id's 18-character form
# in any case (pipeline/imports/writer.py). The index is built without locking the deals table (CONCURRENTLY, so
# outside a transaction): deal edits go on during a deploy while it builds (tens of seconds at ten million deals).

import django.db.models.functions.text
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [
        ("pipeline", "0010_deal_credit_feed"),
    ]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        AddIndexConcurrently(
            model_name="deal",
            index=models.Index(django.db.models.functions.text.Upper("external_id"), name="deal_external_id_upper"),
        ),
    ]
