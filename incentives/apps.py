from django.apps import AppConfig


class IncentivesConfig(AppConfig):
    name = "incentives"
    verbose_name = "Incentives"

    def ready(self) -> None:
        from pipeline.events import deals_changed

        deals_changed.connect(_on_deals_changed, dispatch_uid="incentives-recompute-on-deal-change")

        from salesops.org.events import manager_changed

        manager_changed.connect(_on_manager_changed, dispatch_uid="incentives-team-sums-on-manager-change")


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


def _on_manager_changed(
    sender: object, *, person_id: int, old_manager_id: int | None, new_manager_id: int | None,
    actor_id: int | None, **_: object,
) -> None:  # fmt: skip
    """Someone moved to another manager: the team-sum quotas of both managers (and up) in open periods are
    summed again, and both teams' pay is recomputed (team plans follow today's tree)."""
    from incentives.services import team_sums_refresh
    from incentives.tasks import queue_recompute

    managers = [m for m in (old_manager_id, new_manager_id) if m is not None]
    team_sums_refresh(actor_id=actor_id, manager_ids=managers)
    queue_recompute(person_ids=[person_id, *managers], reason="org")
