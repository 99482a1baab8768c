# A rule's last failed evaluation (signals/models/rules.py): the sweep keeps one rule's failure to that rule.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("signals", "0009_mismatch_currencies_longer"),
    ]

    operations = [
        migrations.AddField(
            model_name="rule",
            name="failures",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="rule",
            name="last_error",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddField(
            model_name="rule",
            name="last_error_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
