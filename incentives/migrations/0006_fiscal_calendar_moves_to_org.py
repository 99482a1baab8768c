"""The fiscal calendar's settings move to org (salesops.org.models.FiscalCalendar). State only: the table,
its constraint and its row stay; org's 0003 has taken the model over before incentives forgets it."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("incentives", "0005_quota_upload_job"),
        ("org", "0003_fiscal_calendar_from_incentives"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="FiscalCalendar")],
            database_operations=[],
        ),
    ]
