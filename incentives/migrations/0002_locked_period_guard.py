"""Locked periods never change: triggers refuse any insert, update or delete of a payout, statement line
or adjustment whose period is locked. Only reopening the period (with a reason) lifts the guard."""

from django.db import migrations

CREATE = """
CREATE FUNCTION incentives_refuse_locked() RETURNS trigger AS $$
DECLARE
    target_period bigint;
    locked boolean;
BEGIN
    IF TG_TABLE_NAME = 'incentives_statementline' THEN
        SELECT period_id INTO target_period FROM incentives_payout
         WHERE id = COALESCE(CASE WHEN TG_OP = 'DELETE' THEN OLD.payout_id ELSE NEW.payout_id END, OLD.payout_id);
    ELSIF TG_OP = 'DELETE' THEN
        target_period := OLD.period_id;
    ELSE
        target_period := NEW.period_id;
    END IF;
    SELECT is_locked INTO locked FROM incentives_period WHERE id = target_period;
    IF locked THEN
        RAISE EXCEPTION 'period % is locked: % of % refused', target_period, TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF TG_TABLE_NAME = 'incentives_statementline' THEN
            SELECT period_id INTO target_period FROM incentives_payout WHERE id = OLD.payout_id;
        ELSE
            target_period := OLD.period_id;
        END IF;
        SELECT is_locked INTO locked FROM incentives_period WHERE id = target_period;
        IF locked THEN
            RAISE EXCEPTION 'period % is locked: moving a row out of it is refused', target_period
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER incentives_payout_locked BEFORE INSERT OR UPDATE OR DELETE ON incentives_payout
    FOR EACH ROW EXECUTE FUNCTION incentives_refuse_locked();
CREATE TRIGGER incentives_statementline_locked BEFORE INSERT OR UPDATE OR DELETE ON incentives_statementline
    FOR EACH ROW EXECUTE FUNCTION incentives_refuse_locked();
CREATE TRIGGER incentives_adjustment_locked BEFORE INSERT OR UPDATE OR DELETE ON incentives_adjustment
    FOR EACH ROW EXECUTE FUNCTION incentives_refuse_locked();
"""

DROP = """
DROP TRIGGER IF EXISTS incentives_payout_locked ON incentives_payout;
DROP TRIGGER IF EXISTS incentives_statementline_locked ON incentives_statementline;
DROP TRIGGER IF EXISTS incentives_adjustment_locked ON incentives_adjustment;
DROP FUNCTION IF EXISTS incentives_refuse_locked();
"""


class Migration(migrations.Migration):
    dependencies = [("incentives", "0001_initial")]
    operations = [migrations.RunSQL(CREATE, DROP)]
