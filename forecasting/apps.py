from django.apps import AppConfig


class ForecastingConfig(AppConfig):
    name = "forecasting"
    verbose_name = "Forecasting"

    def ready(self) -> None:
        from incentives.events import quotas_changed
        from pipeline.events import deals_changed
        from salesops.org.events import manager_changed

        deals_changed.connect(_on_deals_changed, dispatch_uid="forecasting-rollups-on-deal-change")
        manager_changed.connect(_on_manager_changed, dispatch_uid="forecasting-rollups-on-manager-change")
        quotas_changed.connect(_on_deals_changed, dispatch_uid="forecasting-rollups-on-quota-change")


def _on_deals_changed(sender: object, **_: object) -> None:
    """Any deal change may move a rollup (amount, stage, close date, owner, category), and so does a quota
    change (quota, attainment): refresh soon. These events are sent after the change committed, so the refresh
    sees it."""
    from forecasting.tasks import queue_rollup_refresh

    queue_rollup_refresh()


def _on_manager_changed(sender: object, **_: object) -> None:
    """A person moved to another manager changes the subtrees a rollup sums: refresh once the move commits
    (this event is sent inside the transaction; a move rolled back queues nothing)."""
    from django.db import transaction

    from forecasting.tasks import queue_rollup_refresh

    transaction.on_commit(queue_rollup_refresh)
