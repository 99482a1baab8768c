"""A stress test's start: when a worker claimed it. A copy of its task takes a "running" test over, whatever its
runner lock says, only this long after its start; it was measured from when the test was queued, so a test that
waited in the queue through a worker outage was run twice at once. A test running at the deploy starts at its
queueing, as before."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("planning", "0005_active_territory_view")]

    operations = [
        migrations.AddField(
            model_name="stresstest",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunSQL(
            "UPDATE planning_stresstest SET started_at = created_at WHERE status = 'running';",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
