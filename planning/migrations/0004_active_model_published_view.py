"""Two more published views of planning (`planning/published.py` lists them):

- `planning_active_territory_model`: the active territory model's id and when its accounts were last assigned
  (no row when no model is active). Every change to the active model's assignments (activation, an assignment
  run that changed something) moves `assigned_at`, so a reader that keeps sums by territory knows from these two
  columns whether its sums still follow the assignments.
- `planning_active_territory`: the active model's territories that hold at least one account (id, name,
  owner_id): the reports' territory menu and labels, without reading every account's row."""

from django.db import migrations

CREATE = r"""
CREATE VIEW planning_active_territory_model AS
SELECT m.id, m.assigned_at FROM planning_territorymodel m WHERE m.status = 'active';
CREATE VIEW planning_active_territory AS
SELECT t.id, t.name, t.owner_id FROM planning_territory t
JOIN planning_territorymodel m ON m.id = t.model_id AND m.status = 'active'
WHERE EXISTS (SELECT 1 FROM planning_territoryassignment a WHERE a.territory_id = t.id);
"""

DROP = "DROP VIEW IF EXISTS planning_active_territory; DROP VIEW IF EXISTS planning_active_territory_model;"


class Migration(migrations.Migration):
    dependencies = [("planning", "0003_territory_published_view")]

    operations = [migrations.RunSQL(CREATE, reverse_sql=DROP)]
