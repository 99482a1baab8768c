"""The reconciliation area's tables (signals/models/reconciliation.py)."""

from django.conf import settings
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("signals", "0006_leads"), migrations.swappable_dependency(settings.AUTH_USER_MODEL), ("pipeline", "0008_lead_handoff_product_gap")]

    operations: list[migrations.operations.base.Operation] = []
