# An import job's run says when a worker claimed it (a run "running" past the task's hard time limit lost its
# worker and is taken over, pipeline/imports/services.py); deals are found by a Salesforce id's 18-character form
# in any case (pipeline/imports/writer.py).

import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0010_deal_credit_feed"),
    ]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(django.db.models.functions.text.Upper("external_id"), name="deal_external_id_upper"),
        ),
    ]
