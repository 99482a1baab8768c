import logging

from django.apps import AppConfig

logger = logging.getLogger(__name__)


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = "Reporting"

    def ready(self) -> None:
        from pipeline.events import deals_changed

        deals_changed.connect(_on_deals_changed, dispatch_uid="reporting-refresh-on-deal-change")
        from planning.events import active_territories_changed

        active_territories_changed.connect(
            _on_active_territories_changed, dispatch_uid="reporting-refresh-on-territories-change"
        )


def _on_deals_changed(sender: object, *, deal_ids: list[int] | None, **_: object) -> None:
    """Any change to a deal (stage, amount, date, owner, splits, a new deal) refreshes its reporting facts, so
    the dashboards show it within seconds; the scheduled sweep catches whatever this misses. No ids (too many
    to list): the sweep of every changed deal, queued now."""
    from reporting.tasks import queue_refresh

    try:
        queue_refresh(deal_ids=deal_ids)
    except Exception:  # a report refresh must never fail the deal change that triggered it; the sweep catches up
        logger.exception("could not queue the reporting refresh of %s deals", len(deal_ids or []) or "many")


def _on_active_territories_changed(sender: object, *, model_id: int, **_: object) -> None:
    """Accounts may have changed territory in the active model: the sweep brings the territory rollup up to date
    within seconds (the sums of the accounts that moved go to their new territory), so the executive dashboard
    reads it again rather than the facts. The scheduled sweep catches whatever this misses."""
    from reporting.tasks import queue_refresh

    try:
        queue_refresh(deal_ids=None)
    except Exception:  # never fails the planning change; the sweep runs every ten minutes anyway
        logger.exception("could not queue the reporting refresh after territory model %s changed", model_id)
