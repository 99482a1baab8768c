"""Planning's `planning_active_territory`: the active model's territories that hold at least one account (id, name,
owner_id), so the reports' territory menu and labels need not read every account's row (`planning/published.py`
lists it)."""

from django.db import migrations

CREATE = r"""
CREATE VIEW planning_active_territory AS
SELECT t.id, t.name, t.owner_id FROM planning_territory t
JOIN planning_territorymodel m ON m.id = t.model_id AND m.status = 'active'
WHERE EXISTS (SELECT 1 FROM planning_territoryassignment a WHERE a.territory_id = t.id);
"""

DROP = "DROP VIEW IF EXISTS planning_active_territory;"


class Migration(migrations.Migration):
    dependencies = [("planning", "0004_active_model_published_view")]

    operations = [migrations.RunSQL(CREATE, reverse_sql=DROP)]
