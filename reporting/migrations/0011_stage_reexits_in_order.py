"""Each stored stay's previous exit (`prev_left_on`) filled again in the order the deal's stays of the stage came,
and the company's repeated exits by month (reporting_stagereexitmonth) rebuilt from them.

0010 ordered a deal's stays of one stage by the day they began, then by row id. Two stays that began on the same day
(a deal moved on and back the same day) are then ordered by their ids, and the ids of stays written before 0010 need
not follow the history: the earlier stay could get the later one's exit as its "previous" exit (a day after its own),
and the funnel's *left* column then missed that deal in a range holding only its first exit, while the list behind
the cell showed it. A deal's stays of one stage never overlap, so the day each ended decides the order where the day
each began does not, whatever the ids: the values the refresh writes from the history.

Only the stays of a deal and stage with a repeated exit are read again, and only those whose value differs are
written (none where 0010 read the stays in their order); the monthly table is small."""

from django.db import migrations

# The statements this migration runs on the stays already stored, in order (the tests run them on stays written in
# an order of ids the history does not have).
STORED_STAYS = (
    """
    UPDATE reporting_stagespell s SET prev_left_on = x.prev
    FROM (SELECT id, prev_left_on AS stored,
                 LAG(left_on) OVER (PARTITION BY deal_id, stage_id ORDER BY entered_on, left_on, id) AS prev
          FROM reporting_stagespell
          WHERE (deal_id, stage_id) IN (SELECT deal_id, stage_id FROM reporting_stagespell
                                        WHERE prev_left_on IS NOT NULL)) x
    WHERE x.id = s.id AND x.stored IS DISTINCT FROM x.prev
    """,
    "DELETE FROM reporting_stagereexitmonth",
    """
    INSERT INTO reporting_stagereexitmonth (month, prev_month, pipeline_id, stage_id, product_id, "left")
    SELECT date_trunc('month', s.left_on)::date, date_trunc('month', s.prev_left_on)::date, s.pipeline_id,
           s.stage_id, s.product_id, COUNT(*)
    FROM reporting_stagespell s WHERE s.prev_left_on IS NOT NULL AND s.days IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5
    """,
)


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0010_stage_reexits"),
    ]

    operations = [migrations.RunSQL(STORED_STAYS, migrations.RunSQL.noop)]
