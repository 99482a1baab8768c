"""The database views planning publishes for other apps' SQL (created by migrations 0003, 0004 and 0005).

Planning's tables are private to it; another app's SQL names these views and nothing else of planning
(tests/test_sql_boundaries.py fails otherwise):

- `planning_account_territory`: (account_id, territory_id, territory_name, owner_id, model_id), one row per
  account assigned in the active territory model. A deal's territory is its account's: join on account_id.
- `planning_active_territory_model`: (id, assigned_at) of the active model, no row when none is active
  (migration 0004). `assigned_at` moves whenever the active model's assignments change.
- `planning_active_territory`: (id, name, owner_id), one row per territory of the active model that holds at
  least one account (migration 0005).

Columns are only added, never renamed or removed, without changing every reader in the same commit.
"""

PUBLISHED_VIEWS: frozenset[str] = frozenset(
    {"planning_account_territory", "planning_active_territory_model", "planning_active_territory"}
)
