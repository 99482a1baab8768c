"""The signals app's first migration: no tables of its own (each area's migration follows)."""

from django.conf import settings
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL), ("pipeline", "0008_lead_handoff_product_gap")]

    operations: list[migrations.operations.base.Operation] = []
