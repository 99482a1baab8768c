from django.apps import AppConfig


class IncentivesConfig(AppConfig):
    name = "incentives"
    verbose_name = "Incentives"

    def ready(self) -> None:
        from pipeline.events import deals_changed

        deals_changed.connect(_on_deals_changed, dispatch_uid="incentives-recompute-on-deal-change")


def _on_deals_changed(sender: object, *, person_ids: list[int], pay_relevant: bool, **_: object) -> None:
    """A won deal, its splits, amount, date or owner changed: recompute the people it credits (and, through
    the team plans of their managers, the tree above them; the recompute widens the scope itself)."""
    if pay_relevant:
        from incentives.tasks import queue_recompute

        queue_recompute(person_ids=person_ids, reason="deal")
