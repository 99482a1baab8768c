"""The pipeline's published views: the only pipeline relations another app's SQL may name.

Other apps (reporting's fact refresh, forecasting's snapshots and win rates, ...) read deals in SQL. They name
these views, never the pipeline's tables, so the tables stay private to the pipeline and a rule written here
(the crediting rule, the typed history, the effective probability and category) is written once.
`pipeline/published.py` lists them and docs/sql-boundaries.md describes each column.

Every view is a plain projection (joins on primary keys, no aggregation, no DISTINCT), so Postgres flattens
it into the query that names it: filters reach the tables' indexes, and a LEFT JOIN whose columns a query
does not use is removed. A migration that changes the type of a column a view shows must drop the view
first and create it again after (Postgres refuses to alter such a column).
"""

from django.db import migrations

CREATE = r"""
-- Deals with what readers need of their stage, pipeline, account and first product line.
CREATE VIEW pipeline_deal_feed AS
SELECT d.id, d.name, d.external_id, d.owner_id, d.account_id, a.name AS account_name, d.pipeline_id,
       pl.name AS pipeline_name, d.stage_id, s.name AS stage_name, d.status, d.amount, d.currency, d.close_date,
       d.created_date, d.created_at, d.updated_at, d.deal_type, d.source,
       -- the deal's own probability when it has one, else its stage's
       COALESCE(d.probability, s.probability) AS probability, s.probability AS stage_probability,
       -- the override while it lasts, else the stage's category
       COALESCE(NULLIF(d.category_override, ''), s.forecast_category) AS forecast_category,
       d.stage_entered_at, d.last_activity_at, d.cancelled_on,
       -- the product of the deal's first line (NULL without lines)
       (SELECT li.product_id FROM pipeline_deallineitem li WHERE li.deal_id = d.id ORDER BY li.id LIMIT 1)
           AS product_id
FROM pipeline_deal d
LEFT JOIN pipeline_stage s ON s.id = d.stage_id
LEFT JOIN pipeline_pipeline pl ON pl.id = d.pipeline_id
LEFT JOIN pipeline_account a ON a.id = d.account_id;

-- Who is credited with a deal, and what share (percent): its revenue splits, else its owner at 100 %.
-- Overlay splits are not bookings and credit nobody here. The crediting rule, written once.
CREATE VIEW pipeline_credit_feed AS
SELECT d.id AS deal_id, COALESCE(sp.person_id, d.owner_id) AS person_id,
       COALESCE(sp.percent, 100.00::numeric(5, 2)) AS share
FROM pipeline_deal d
LEFT JOIN pipeline_dealsplit sp ON sp.deal_id = d.id AND NOT sp.is_overlay;

-- The deal history with typed columns: `stage_id` is the stage a deal entered (creation or a move), the
-- close dates of a close-date change are dates (the table stores text). Nobody casts the history elsewhere.
CREATE VIEW pipeline_deal_change_feed AS
SELECT c.id, c.deal_id, c.field, c.changed_at, c.changed_by_id, c.old_value, c.new_value, c.old_ref, c.new_ref,
       CASE WHEN c.field IN ('created', 'stage') THEN c.new_ref END AS stage_id,
       CASE WHEN c.field = 'close_date' AND c.old_value ~ '^\d{4}-\d{2}-\d{2}$' THEN c.old_value::date END
           AS old_close_date,
       CASE WHEN c.field = 'close_date' AND c.new_value ~ '^\d{4}-\d{2}-\d{2}$' THEN c.new_value::date END
           AS new_close_date
FROM pipeline_dealchange c;

-- Stages, pipelines and products: the names and flags reports label and filter with.
CREATE VIEW pipeline_stage_feed AS
SELECT s.id, s.pipeline_id, s.name, s.position, s.probability, s.forecast_category, s.is_won, s.is_lost
FROM pipeline_stage s;

CREATE VIEW pipeline_pipeline_feed AS
SELECT p.id, p.name, p.is_default, p.is_active FROM pipeline_pipeline p;

CREATE VIEW pipeline_product_feed AS
SELECT p.id, p.name, p.is_active FROM pipeline_product p;

-- Activities logged against deals (logging one moves a deal's last activity, not its updated_at).
CREATE VIEW pipeline_activity_feed AS
SELECT a.id, a.deal_id, a.owner_id, a.kind, a.occurred_at, a.done FROM pipeline_activity a;
"""

DROP = """
DROP VIEW IF EXISTS pipeline_activity_feed;
DROP VIEW IF EXISTS pipeline_product_feed;
DROP VIEW IF EXISTS pipeline_pipeline_feed;
DROP VIEW IF EXISTS pipeline_stage_feed;
DROP VIEW IF EXISTS pipeline_deal_change_feed;
DROP VIEW IF EXISTS pipeline_credit_feed;
DROP VIEW IF EXISTS pipeline_deal_feed;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0005_lost_reasons_and_cancel_reason"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
