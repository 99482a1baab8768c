"""The incentives app's published view: the only incentives relation another app's SQL may name.

`incentives_commission_feed` gives, per period and person, what the plans earned, what was paid (after the
draw) and the adjustments: one row per payout or adjustment, with the period's label, dates and lock.
Reporting's commission panels sum it. `incentives/published.py` lists it; docs/sql-boundaries.md describes it.
A plain projection (a UNION ALL of two tables joined to the period on its primary key, no aggregation), so
Postgres pushes a query's filters into both branches. A migration that changes the type of a column it
shows must drop the view first and create it again after; a recompute must write payouts in place (UPDATE,
INSERT, DELETE), never swap the table by renaming, or the view would keep reading the old one.
"""

from django.db import migrations

CREATE = """
CREATE VIEW incentives_commission_feed AS
SELECT x.period_id, pr.label AS period_label, pr.start AS period_start, pr."end" AS period_end,
       pr.is_locked AS period_locked, x.person_id, x.earned, x.payout, x.adjustments
FROM (
    SELECT p.period_id, p.person_id, p.earned, p.payout, 0::numeric AS adjustments
    FROM incentives_payout p
    UNION ALL
    SELECT a.period_id, a.person_id, 0, 0, a.amount
    FROM incentives_adjustment a
) x
JOIN incentives_period pr ON pr.id = x.period_id;
"""

DROP = "DROP VIEW IF EXISTS incentives_commission_feed;"


class Migration(migrations.Migration):
    dependencies = [
        ("incentives", "0006_fiscal_calendar_moves_to_org"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
