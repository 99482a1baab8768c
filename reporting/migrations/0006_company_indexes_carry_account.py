"""The executive dashboard's company-wide reads of a date range (closed and open deal facts, bookings credits)
group by territory through the facts' account: their covering indexes include `account_id`, so those reads stay
index-only with an active territory model.

Each index is built again under a temporary name without locking the table (CONCURRENTLY, so outside a
transaction), then the old one is dropped and the new one takes its name: the facts keep an index the whole
time and dashboards keep reading meanwhile. A run interrupted between the drop and the rename is finished by
the next one (the rebuilt index takes the name); an interrupted build is dropped and done again."""

from typing import Any

from django.db import migrations, models

INDEXES = {
    # name: (table, key, old include, new include, condition)
    "rep_dealfact_closed": (
        "reporting_dealfact",
        "close_date",
        "owner_id, status, amount, cycle_days, pipeline_id, product_id",
        "owner_id, status, amount, cycle_days, pipeline_id, product_id, account_id",
        "status IN ('won', 'lost')",
    ),
    "rep_dealfact_open": (
        "reporting_dealfact",
        "close_date",
        "owner_id, amount, probability, stage_id, pipeline_id, product_id",
        "owner_id, amount, probability, stage_id, pipeline_id, product_id, account_id",
        "status = 'open'",
    ),
    "rep_credit_close": (
        "reporting_creditfact",
        "close_date",
        "person_id, credit, pipeline_id, product_id",
        "person_id, credit, pipeline_id, product_id, account_id",
        None,
    ),
}


def _validity(cursor: Any, name: str) -> bool | None:
    """Whether the index `name` is valid (ready to read), or None when there is none."""
    cursor.execute(
        "SELECT i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid WHERE c.relname = %s", [name]
    )
    row = cursor.fetchone()
    return None if row is None else bool(row[0])


def _rebuild(schema_editor: Any, *, forward: bool) -> None:
    with schema_editor.connection.cursor() as cursor:
        for name, (table, key, old, new, condition) in INDEXES.items():
            where = f" WHERE {condition}" if condition else ""
            temporary = f"{name}_rebuilt"
            original, rebuilt = _validity(cursor, name), _validity(cursor, temporary)
            if original is None and rebuilt:  # an earlier run stopped after dropping the old index
                cursor.execute(f"ALTER INDEX {temporary} RENAME TO {name}")
                continue
            if rebuilt is not None:  # left unfinished (or invalid) by an interrupted build
                cursor.execute(f"DROP INDEX CONCURRENTLY {temporary}")
            include = new if forward else old
            cursor.execute(f"CREATE INDEX CONCURRENTLY {temporary} ON {table} ({key}) INCLUDE ({include}){where}")
            if original is not None:
                cursor.execute(f"DROP INDEX CONCURRENTLY {name}")
            cursor.execute(f"ALTER INDEX {temporary} RENAME TO {name}")


def forwards(apps: Any, schema_editor: Any) -> None:
    _rebuild(schema_editor, forward=True)


def backwards(apps: Any, schema_editor: Any) -> None:
    _rebuild(schema_editor, forward=False)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("reporting", "0005_facts_carry_account")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.RemoveIndex(model_name="creditfact", name="rep_credit_close"),
                migrations.RemoveIndex(model_name="dealfact", name="rep_dealfact_closed"),
                migrations.RemoveIndex(model_name="dealfact", name="rep_dealfact_open"),
                migrations.AddIndex(
                    model_name="creditfact",
                    index=models.Index(
                        fields=["close_date"],
                        include=("person_id", "credit", "pipeline_id", "product_id", "account_id"),
                        name="rep_credit_close",
                    ),
                ),
                migrations.AddIndex(
                    model_name="dealfact",
                    index=models.Index(
                        condition=models.Q(("status__in", ["won", "lost"])),
                        fields=["close_date"],
                        include=(
                            "owner_id",
                            "status",
                            "amount",
                            "cycle_days",
                            "pipeline_id",
                            "product_id",
                            "account_id",
                        ),
                        name="rep_dealfact_closed",
                    ),
                ),
                migrations.AddIndex(
                    model_name="dealfact",
                    index=models.Index(
                        condition=models.Q(("status", "open")),
                        fields=["close_date"],
                        include=(
                            "owner_id",
                            "amount",
                            "probability",
                            "stage_id",
                            "pipeline_id",
                            "product_id",
                            "account_id",
                        ),
                        name="rep_dealfact_open",
                    ),
                ),
            ],
        )
    ]
