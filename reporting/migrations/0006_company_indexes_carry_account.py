"""The executive dashboard's company-wide reads of a date range (closed and open deal facts, bookings credits)
group by territory through the facts' account: their covering indexes include `account_id`, so those reads stay
index-only with an active territory model.

Each index is built again under a temporary name without locking the table (CONCURRENTLY, so outside a
transaction), then the old one is dropped and the new one takes its name: the facts keep an index the whole
time and dashboards keep reading meanwhile."""

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


def rebuild(name: str, *, forward: bool) -> list[str]:
    table, key, old, new, condition = INDEXES[name]
    where = f" WHERE {condition}" if condition else ""
    temporary = f"{name}_rebuilt"
    return [
        f"DROP INDEX CONCURRENTLY IF EXISTS {temporary}",  # left invalid by an interrupted build
        f"CREATE INDEX CONCURRENTLY {temporary} ON {table} ({key}) INCLUDE ({new if forward else old}){where}",
        f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
        f"ALTER INDEX {temporary} RENAME TO {name}",
    ]


def operation(name: str) -> migrations.RunSQL:
    return migrations.RunSQL(rebuild(name, forward=True), reverse_sql=rebuild(name, forward=False))


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("reporting", "0005_facts_carry_account")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[operation(name) for name in INDEXES],
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
