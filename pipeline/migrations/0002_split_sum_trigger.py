"""Revenue splits of a deal sum to exactly 100 %: a constraint trigger, deferred to commit so a service
can replace a deal's splits row by row inside one transaction."""

from django.db import migrations

CREATE = """
CREATE FUNCTION pipeline_check_revenue_splits() RETURNS trigger AS $$
DECLARE
    target bigint := COALESCE(NEW.deal_id, OLD.deal_id);
    total numeric;
BEGIN
    SELECT SUM(percent) INTO total FROM pipeline_dealsplit WHERE deal_id = target AND NOT is_overlay;
    IF total IS NOT NULL AND total <> 100 THEN
        RAISE EXCEPTION 'revenue splits of deal % sum to % percent, not 100', target, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER pipeline_revenue_splits_sum_100
    AFTER INSERT OR UPDATE OR DELETE ON pipeline_dealsplit
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION pipeline_check_revenue_splits();
"""

DROP = """
DROP TRIGGER IF EXISTS pipeline_revenue_splits_sum_100 ON pipeline_dealsplit;
DROP FUNCTION IF EXISTS pipeline_check_revenue_splits();
"""


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0001_initial")]
    operations = [migrations.RunSQL(CREATE, DROP)]
