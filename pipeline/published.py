"""The database views the pipeline publishes for other apps' SQL (created by migrations 0006 and 0010).

The pipeline's tables are private to it. An app whose SQL must read deals names these views and nothing
else of the pipeline (tests/test_sql_boundaries.py fails otherwise):

- `pipeline_deal_feed`: one row per deal with its effective probability and forecast category, its stage,
  pipeline and account names, and the product of its first line.
- `pipeline_deal_credit_feed`: `pipeline_deal_feed` once per credited person (`person_id`, `share` in percent):
  its revenue splits, else its owner at 100 %. The crediting rule, written once (migration 0010).
- `pipeline_credit_feed`: (deal_id, person_id, share), the projection of the one above: who is credited with a
  deal and what percent.
- `pipeline_deal_change_feed`: the deal history with typed columns (`stage_id` entered, `old_close_date`,
  `new_close_date`), so nobody casts the history's text outside the pipeline.
- `pipeline_stage_feed`, `pipeline_pipeline_feed`, `pipeline_product_feed`: names and flags for labels
  and filters.
- `pipeline_activity_feed`: activities (id, deal, owner, kind, when, done), for watermarks of changed deals.

Columns are only added, never renamed or removed, without changing every reader in the same commit.
docs/sql-boundaries.md describes the rule and each view.
"""

PUBLISHED_VIEWS: frozenset[str] = frozenset({
    "pipeline_deal_feed",
    "pipeline_credit_feed",
    "pipeline_deal_credit_feed",
    "pipeline_deal_change_feed",
    "pipeline_stage_feed",
    "pipeline_pipeline_feed",
    "pipeline_product_feed",
    "pipeline_activity_feed",
})  # fmt: skip
