from django.apps import AppConfig


class ForecastingConfig(AppConfig):
    name = "forecasting"
    verbose_name = "Forecasting"

    def ready(self) -> None:
        from incentives.events import quotas_changed
        from pipeline.events import deals_changed
        from salesops.org.events import manager_changed

        deals_changed.connect(_on_deals_changed, dispatch_uid="forecasting-rollups-on-deal-change")
        manager_changed.connect(_on_deals_changed, dispatch_uid="forecasting-rollups-on-manager-change")
        quotas_changed.connect(_on_deals_changed, dispatch_uid="forecasting-rollups-on-quota-change")


def _on_deals_changed(sender: object, **_: object) -> None:
    """Any deal change may move a rollup (amount, stage, close date, owner, category), and so do a person
    moving to another manager (the subtrees a rollup sums) and a quota change (quota, attainment): refresh
    soon. The events are sent after the change committed, so the refresh sees it."""
    from forecasting.tasks import queue_rollup_refresh

    queue_rollup_refresh()
