"""The locked-period guard on statement lines, once per statement instead of once per row.

A fiscal year's recompute replaces about 1.5 million lines: a row trigger looked the payout and period up
1.5 million times on the way out and again on the way in. Statement triggers see the changed rows as
transition tables and check them in one join. Payouts and adjustments (thousands of rows) keep their row
triggers from 0002.
"""

from django.db import migrations

CHECK = """
    IF EXISTS (
        SELECT 1 FROM {rows} r
        JOIN incentives_payout p ON p.id = r.payout_id
        JOIN incentives_period per ON per.id = p.period_id
        WHERE per.is_locked
    ) THEN
        RAISE EXCEPTION 'a locked period''s statement lines cannot change (%)', TG_OP
            USING ERRCODE = 'check_violation';
    END IF;
"""

CREATE = f"""
DROP TRIGGER IF EXISTS incentives_statementline_locked ON incentives_statementline;

CREATE FUNCTION incentives_lines_refuse_locked_new() RETURNS trigger AS $$
BEGIN
{CHECK.format(rows="new_rows")}
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION incentives_lines_refuse_locked_old() RETURNS trigger AS $$
BEGIN
{CHECK.format(rows="old_rows")}
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER incentives_lines_locked_insert AFTER INSERT ON incentives_statementline
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION incentives_lines_refuse_locked_new();
CREATE TRIGGER incentives_lines_locked_update_new AFTER UPDATE ON incentives_statementline
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION incentives_lines_refuse_locked_new();
CREATE TRIGGER incentives_lines_locked_update_old AFTER UPDATE ON incentives_statementline
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION incentives_lines_refuse_locked_old();
CREATE TRIGGER incentives_lines_locked_delete AFTER DELETE ON incentives_statementline
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION incentives_lines_refuse_locked_old();
"""

DROP = """
DROP TRIGGER IF EXISTS incentives_lines_locked_insert ON incentives_statementline;
DROP TRIGGER IF EXISTS incentives_lines_locked_update_new ON incentives_statementline;
DROP TRIGGER IF EXISTS incentives_lines_locked_update_old ON incentives_statementline;
DROP TRIGGER IF EXISTS incentives_lines_locked_delete ON incentives_statementline;
DROP FUNCTION IF EXISTS incentives_lines_refuse_locked_new();
DROP FUNCTION IF EXISTS incentives_lines_refuse_locked_old();
CREATE TRIGGER incentives_statementline_locked BEFORE INSERT OR UPDATE OR DELETE ON incentives_statementline
    FOR EACH ROW EXECUTE FUNCTION incentives_refuse_locked();
"""


class Migration(migrations.Migration):
    dependencies = [("incentives", "0002_locked_period_guard")]
    operations = [migrations.RunSQL(CREATE, DROP)]
