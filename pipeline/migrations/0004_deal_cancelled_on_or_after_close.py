# A deal cannot be cancelled before its close date (incentives.md refuses such input). Earlier versions let a
# close date move past the cancellation; such rows are named and the migration stops, rather than changing
# anyone's pay by guessing which date is wrong.

from django.conf import settings
from django.db import migrations, models


def refuse_deals_cancelled_before_close(apps, schema_editor):
    deal = apps.get_model("pipeline", "Deal")
    bad = list(
        deal.objects.filter(cancelled_on__lt=models.F("close_date")).values_list("id", "name", "close_date",
                                                                                 "cancelled_on")[:20]
    )  # fmt: skip
    if bad:
        named = "; ".join(f"deal {pk} {name!r}: closed {close}, cancelled {cancel}" for pk, name, close, cancel in bad)
        raise RuntimeError(
            "These deals are cancelled before they closed; correct their close date or cancellation date, "
            f"then migrate again: {named}"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0003_stage_constraint_message"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(refuse_deals_cancelled_before_close, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="deal",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("cancelled_on__isnull", True),
                    ("close_date__isnull", True),
                    ("cancelled_on__gte", models.F("close_date")),
                    _connector="OR",
                ),
                name="deal_cancelled_on_or_after_close",
                violation_error_message="A deal cannot be cancelled before its close date.",
            ),
        ),
    ]
