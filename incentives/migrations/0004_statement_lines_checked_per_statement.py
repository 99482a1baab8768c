"""Statement lines' references checked once per statement instead of once per row.

A fiscal year's recompute writes about half a million statement lines. As foreign keys, `line.payout` and
`dispute.line` queued one deferred check per line written and per line deleted, and those checks took
longer at commit than the whole write. The same rules now hold through the statement triggers of 0003,
which already see the changed rows as transition tables:

- a line's payout must exist: checked, and held with FOR KEY SHARE until the transaction ends, in one join
  per statement;
- deleting a payout deletes its lines (ON DELETE CASCADE), and deleting lines sets the disputes that
  pointed at them to NULL (ON DELETE SET NULL), one statement each;
- a dispute may point only at an existing line (a row trigger: disputes are few).

Also: `payout.lines_digest` (a recompute leaves identical statements unwritten), and no index on
`statementline.deal_id` (nothing looks lines up by deal; every line written paid for it).
"""

import django.db.models.deletion
from django.db import migrations, models

LINES_CHECK = """
    WITH ids AS (SELECT DISTINCT payout_id AS id FROM {rows}),
         found AS (
            SELECT p.id, per.is_locked FROM incentives_payout p
              JOIN incentives_period per ON per.id = p.period_id
             WHERE p.id IN (SELECT id FROM ids){lock}
         )
    SELECT (SELECT count(*) FROM ids), count(*), count(*) FILTER (WHERE is_locked)
      INTO wanted, present, locked
      FROM found;
    IF locked > 0 THEN
        RAISE EXCEPTION 'a locked period''s statement lines cannot change (%)', TG_OP
            USING ERRCODE = 'check_violation';
    END IF;
"""

MISSING = """
    IF present < wanted THEN
        RAISE EXCEPTION 'statement lines refer to % payout(s) that do not exist', wanted - present
            USING ERRCODE = 'foreign_key_violation';
    END IF;
"""

CREATE = f"""
CREATE OR REPLACE FUNCTION incentives_lines_refuse_locked_new() RETURNS trigger AS $$
DECLARE
    wanted bigint;
    present bigint;
    locked bigint;
BEGIN
{LINES_CHECK.format(rows="new_rows", lock=" FOR KEY SHARE OF p")}
{MISSING}
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION incentives_lines_refuse_locked_old() RETURNS trigger AS $$
DECLARE
    wanted bigint;
    present bigint;
    locked bigint;
BEGIN
{LINES_CHECK.format(rows="old_rows", lock="")}
    IF TG_OP = 'DELETE' THEN
        UPDATE incentives_dispute SET line_id = NULL
         WHERE line_id IS NOT NULL AND line_id IN (SELECT id FROM old_rows);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION incentives_payout_delete_lines() RETURNS trigger AS $$
BEGIN
    DELETE FROM incentives_statementline WHERE payout_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER incentives_payout_delete_lines AFTER DELETE ON incentives_payout
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION incentives_payout_delete_lines();

CREATE FUNCTION incentives_dispute_line_exists() RETURNS trigger AS $$
BEGIN
    IF NEW.line_id IS NOT NULL THEN
        PERFORM 1 FROM incentives_statementline WHERE id = NEW.line_id FOR KEY SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'dispute % refers to statement line % that does not exist', NEW.id, NEW.line_id
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER incentives_dispute_line_exists BEFORE INSERT OR UPDATE OF line_id ON incentives_dispute
    FOR EACH ROW EXECUTE FUNCTION incentives_dispute_line_exists();
"""

# Back to 0003's functions (the foreign keys come back through the AlterFields).
OLD_FUNCTION = """
CREATE OR REPLACE FUNCTION incentives_lines_refuse_locked_{which}() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM {which}_rows r JOIN incentives_payout p ON p.id = r.payout_id
               JOIN incentives_period per ON per.id = p.period_id WHERE per.is_locked) THEN
        RAISE EXCEPTION 'a locked period''s statement lines cannot change (%)', TG_OP USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""

DROP = (
    """
DROP TRIGGER IF EXISTS incentives_dispute_line_exists ON incentives_dispute;
DROP FUNCTION IF EXISTS incentives_dispute_line_exists();
DROP TRIGGER IF EXISTS incentives_payout_delete_lines ON incentives_payout;
DROP FUNCTION IF EXISTS incentives_payout_delete_lines();
"""
    + OLD_FUNCTION.format(which="new")
    + OLD_FUNCTION.format(which="old")
)


class Migration(migrations.Migration):
    dependencies = [
        ("incentives", "0003_statement_level_lock_guard"),
    ]

    operations = [
        migrations.AddField(
            model_name="payout",
            name="lines_digest",
            field=models.CharField(blank=True, default="", editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name="dispute",
            name="line",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="disputes",
                to="incentives.statementline",
            ),
        ),
        migrations.AlterField(
            model_name="statementline",
            name="deal_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="statementline",
            name="payout",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="lines",
                to="incentives.payout",
            ),
        ),
        migrations.RunSQL(CREATE, DROP),
    ]
