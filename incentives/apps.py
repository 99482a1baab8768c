from django.apps import AppConfig


class IncentivesConfig(AppConfig):
    name = "incentives"
    verbose_name = "Incentives"

    def ready(self) -> None:
        from pipeline.events import deals_changed

        deals_changed.connect(_on_deals_changed, dispatch_uid="incentives-recompute-on-deal-change")


def _on_deals_changed(
    sender: object,
    *,
    person_ids: list[int],
    pay_relevant: bool,
    deal_ids: list[int] | None = None,
    since: str | None = None,
    **_: object,
) -> None:
    """A won deal, its splits, amount, date or owner changed: recompute the people it credits (and, through
    the team plans of their managers, the tree above them; the recompute widens the scope itself), back to
    the earliest date the change touches (a change to a locked period of an earlier year is booked too)."""
    if pay_relevant:
        import datetime as dt

        from incentives.tasks import queue_recompute
        from pipeline.selectors import earliest_commission_date

        earliest = dt.date.fromisoformat(since) if since else earliest_commission_date(list(deal_ids or []))
        queue_recompute(person_ids=person_ids, reason="deal", since=earliest)
