"""The leads area's tables (signals/models/leads.py)."""

from django.conf import settings
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("signals", "0005_marketing"), migrations.swappable_dependency(settings.AUTH_USER_MODEL), ("pipeline", "0008_lead_handoff_product_gap")]

    operations: list[migrations.operations.base.Operation] = []
