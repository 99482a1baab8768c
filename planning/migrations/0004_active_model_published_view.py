"""Planning's second published view: `planning_active_territory_model`, the active territory model's id and when
its accounts were last assigned (no row when no model is active). Every change to the active model's assignments
(activation, an assignment run that changed something) moves `assigned_at`, so a reader that keeps sums by
territory knows from these two columns whether its sums still follow the assignments. `planning/published.py`
lists it."""

from django.db import migrations

CREATE = r"""
CREATE VIEW planning_active_territory_model AS
SELECT m.id, m.assigned_at FROM planning_territorymodel m WHERE m.status = 'active';
"""

DROP = "DROP VIEW IF EXISTS planning_active_territory_model;"


class Migration(migrations.Migration):
    dependencies = [("planning", "0003_territory_published_view")]

    operations = [migrations.RunSQL(CREATE, reverse_sql=DROP)]
