"""Statement lines filed under a key of their own, so that a sharded run's shards write lines side by side.

Until now a line pointed at its payout's id, so new lines became visible the moment they were written, and
a sharded run had to send every shard's lines to one swap task that wrote half a million rows in its one
transaction. Now:

- `payout.lines_key` (a sequence of its own, `incentives_lineset` rows for the keys a recompute files) is
  what a line's `payout_id` holds; existing payouts keep their lines (their key is their id).
- A recompute files a statement's new lines under a new key, then points the payout at the key and retires
  the old one in its short transaction; retired keys' lines are deleted afterwards (`purge_retired_lines`).
- The line checks of 0004 now go through the key: new lines must be filed under a key that exists (a
  payout's, or a key a recompute filed and has not retired) and not under a locked period's payout; lines of
  a locked period's payout cannot change or go; deleting a payout or a key deletes its lines.
"""

import django.utils.timezone
from django.db import migrations, models

import incentives.models

FORWARD = """
CREATE SEQUENCE incentives_lines_key_seq AS bigint;
ALTER TABLE incentives_payout ADD COLUMN lines_key bigint;
UPDATE incentives_payout SET lines_key = id;
SELECT setval('incentives_lines_key_seq', COALESCE((SELECT max(id) FROM incentives_payout), 0) + 1, false);
ALTER TABLE incentives_payout
    ALTER COLUMN lines_key SET DEFAULT nextval('incentives_lines_key_seq'),
    ALTER COLUMN lines_key SET NOT NULL,
    ADD CONSTRAINT incentives_payout_lines_key_uniq UNIQUE (lines_key);
ALTER SEQUENCE incentives_lines_key_seq OWNED BY incentives_payout.lines_key;
"""

BACKWARD = """
UPDATE incentives_statementline l SET payout_id = p.id FROM incentives_payout p
 WHERE p.lines_key = l.payout_id AND p.lines_key <> p.id;
ALTER TABLE incentives_payout DROP COLUMN lines_key;
"""

TRIGGERS = """
CREATE OR REPLACE FUNCTION incentives_lines_refuse_locked_new() RETURNS trigger AS $$
DECLARE
    keys bigint[];
    present bigint;
    locked bigint;
BEGIN
    SELECT array_agg(DISTINCT payout_id) INTO keys FROM new_rows;
    IF keys IS NULL THEN
        RETURN NULL;
    END IF;
    -- Held until the transaction ends: neither the key nor its payout goes meanwhile.
    PERFORM 1 FROM incentives_lineset s WHERE s.id = ANY(keys) AND NOT s.retired FOR KEY SHARE;
    SELECT count(*) INTO present FROM unnest(keys) AS k(id)
     WHERE EXISTS (SELECT 1 FROM incentives_lineset s WHERE s.id = k.id AND NOT s.retired)
        OR EXISTS (SELECT 1 FROM incentives_payout p WHERE p.lines_key = k.id);
    SELECT count(*) FILTER (WHERE per.is_locked) INTO locked FROM (
        SELECT p.period_id FROM incentives_payout p WHERE p.lines_key = ANY(keys) FOR KEY SHARE OF p
    ) AS found JOIN incentives_period per ON per.id = found.period_id;
    IF locked > 0 THEN
        RAISE EXCEPTION 'a locked period''s statement lines cannot change (%)', TG_OP
            USING ERRCODE = 'check_violation';
    END IF;
    IF present < cardinality(keys) THEN
        RAISE EXCEPTION 'statement lines refer to % statement(s) that do not exist', cardinality(keys) - present
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION incentives_lines_refuse_locked_old() RETURNS trigger AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM incentives_payout p JOIN incentives_period per ON per.id = p.period_id
         WHERE per.is_locked AND p.lines_key IN (SELECT DISTINCT payout_id FROM old_rows)
    ) THEN
        RAISE EXCEPTION 'a locked period''s statement lines cannot change (%)', TG_OP
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        UPDATE incentives_dispute SET line_id = NULL
         WHERE line_id IS NOT NULL AND line_id IN (SELECT id FROM old_rows);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION incentives_payout_delete_lines() RETURNS trigger AS $$
BEGIN
    DELETE FROM incentives_statementline WHERE payout_id IN (SELECT lines_key FROM old_rows);
    DELETE FROM incentives_lineset WHERE id IN (SELECT lines_key FROM old_rows);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION incentives_lineset_delete_lines() RETURNS trigger AS $$
BEGIN
    DELETE FROM incentives_statementline WHERE payout_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER incentives_lineset_delete_lines AFTER DELETE ON incentives_lineset
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION incentives_lineset_delete_lines();

INSERT INTO incentives_lineset (id, retired, created_at) SELECT lines_key, false, now() FROM incentives_payout;
"""

# Back to 0004's functions.
TRIGGERS_BACKWARD = """
DROP TRIGGER IF EXISTS incentives_lineset_delete_lines ON incentives_lineset;
DROP FUNCTION IF EXISTS incentives_lineset_delete_lines();

CREATE OR REPLACE FUNCTION incentives_lines_refuse_locked_new() RETURNS trigger AS $$
DECLARE
    wanted bigint;
    present bigint;
    locked bigint;
BEGIN
    WITH ids AS (SELECT DISTINCT payout_id AS id FROM new_rows),
         found AS (
            SELECT p.id, per.is_locked FROM incentives_payout p
              JOIN incentives_period per ON per.id = p.period_id
             WHERE p.id IN (SELECT id FROM ids) FOR KEY SHARE OF p
         )
    SELECT (SELECT count(*) FROM ids), count(*), count(*) FILTER (WHERE is_locked)
      INTO wanted, present, locked
      FROM found;
    IF locked > 0 THEN
        RAISE EXCEPTION 'a locked period''s statement lines cannot change (%)', TG_OP
            USING ERRCODE = 'check_violation';
    END IF;
    IF present < wanted THEN
        RAISE EXCEPTION 'statement lines refer to % payout(s) that do not exist', wanted - present
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION incentives_lines_refuse_locked_old() RETURNS trigger AS $$
DECLARE
    wanted bigint;
    present bigint;
    locked bigint;
BEGIN
    WITH ids AS (SELECT DISTINCT payout_id AS id FROM old_rows),
         found AS (
            SELECT p.id, per.is_locked FROM incentives_payout p
              JOIN incentives_period per ON per.id = p.period_id
             WHERE p.id IN (SELECT id FROM ids)
         )
    SELECT (SELECT count(*) FROM ids), count(*), count(*) FILTER (WHERE is_locked)
      INTO wanted, present, locked
      FROM found;
    IF locked > 0 THEN
        RAISE EXCEPTION 'a locked period''s statement lines cannot change (%)', TG_OP
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        UPDATE incentives_dispute SET line_id = NULL
         WHERE line_id IS NOT NULL AND line_id IN (SELECT id FROM old_rows);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION incentives_payout_delete_lines() RETURNS trigger AS $$
BEGIN
    DELETE FROM incentives_statementline WHERE payout_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("incentives", "0008_recompute_stage"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARD, BACKWARD)],
            state_operations=[
                migrations.AddField(
                    model_name="payout",
                    name="lines_key",
                    field=models.BigIntegerField(
                        db_default=incentives.models.NextLinesKey(), editable=False, unique=True
                    ),
                ),
            ],
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="statementline",
                    name="payout",
                    field=models.ForeignKey(
                        db_constraint=False,
                        on_delete=models.deletion.CASCADE,
                        related_name="lines",
                        to="incentives.payout",
                        to_field="lines_key",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="LineSet",
            fields=[
                ("id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("run_id", models.BigIntegerField(blank=True, null=True)),
                ("shard", models.SmallIntegerField(blank=True, null=True)),
                ("retired", models.BooleanField(default=False)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "indexes": [
                    models.Index(fields=["run_id", "shard"], name="lineset_run_shard"),
                    models.Index(condition=models.Q(("retired", True)), fields=["id"], name="lineset_retired"),
                ],
            },
        ),
        migrations.RunSQL(TRIGGERS, TRIGGERS_BACKWARD),
    ]
