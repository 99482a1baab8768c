"""Planning's published view: the only planning relation another app's SQL may name.

`planning_account_territory` is one row per account assigned in the ACTIVE territory model: the account, its
territory, the territory's name and owner. Deals read their territory through their account (join on
account_id), so reports and dashboards can group deals by territory. With no active model the view is empty.
`planning/published.py` lists it.
"""

from django.db import migrations

CREATE = r"""
CREATE VIEW planning_account_territory AS
SELECT a.account_id, a.territory_id, t.name AS territory_name, t.owner_id, a.model_id
FROM planning_territoryassignment a
JOIN planning_territorymodel m ON m.id = a.model_id AND m.status = 'active'
JOIN planning_territory t ON t.id = a.territory_id;
"""

DROP = "DROP VIEW IF EXISTS planning_account_territory;"


class Migration(migrations.Migration):
    dependencies = [
        ("planning", "0002_scenario_result"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
