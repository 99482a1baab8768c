"""The database views incentives publishes for other apps' SQL (created by migration 0007_published_views).

Incentives' tables are private to it; another app's SQL names these views and nothing else of incentives
(tests/test_sql_boundaries.py fails otherwise):

- `incentives_commission_feed`: per period and person, one row per payout (earned, payout after the draw)
  or adjustment (adjustments), with the period's label, start, end and lock. Commission expense is
  earned + adjustments; what is payable is payout + adjustments.

docs/sql-boundaries.md describes the rule.
"""

PUBLISHED_VIEWS: frozenset[str] = frozenset({"incentives_commission_feed"})
