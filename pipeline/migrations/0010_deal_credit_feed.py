"""A published view of deals with their credits: `pipeline_deal_credit_feed` is `pipeline_deal_feed` with one row
per credited person (`person_id`, `share`), for readers that sum credits by deal fields (forecasting's rollups
by credited person). The crediting rule is written here once; `pipeline_credit_feed` becomes its projection
(same columns, same rows), so both always agree.

Reading deals and credits from one view scans the deal table once, where joining the two feeds read it twice."""

from django.db import migrations

CREATE = r"""
-- Each deal once per credited person: its revenue splits (not overlays), else its owner at 100 %.
CREATE VIEW pipeline_deal_credit_feed AS
SELECT f.*, COALESCE(sp.person_id, f.owner_id) AS person_id, COALESCE(sp.percent, 100.00::numeric(5, 2)) AS share
FROM pipeline_deal_feed f
LEFT JOIN pipeline_dealsplit sp ON sp.deal_id = f.id AND NOT sp.is_overlay;

CREATE OR REPLACE VIEW pipeline_credit_feed AS
SELECT c.id AS deal_id, c.person_id, c.share FROM pipeline_deal_credit_feed c;
"""

DROP = r"""
CREATE OR REPLACE VIEW pipeline_credit_feed AS
SELECT d.id AS deal_id, COALESCE(sp.person_id, d.owner_id) AS person_id,
       COALESCE(sp.percent, 100.00::numeric(5, 2)) AS share
FROM pipeline_deal d
LEFT JOIN pipeline_dealsplit sp ON sp.deal_id = d.id AND NOT sp.is_overlay;

DROP VIEW IF EXISTS pipeline_deal_credit_feed;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0009_dealchange_product_gap"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
