from django.apps import AppConfig


class IncentivesConfig(AppConfig):
    name = "incentives"
    verbose_name = "Incentives"

    def ready(self) -> None:
        from pipeline.events import deals_changed

        deals_changed.connect(_on_deals_changed, dispatch_uid="incentives-recompute-on-deal-change")

        # A won deal leaving won, or cancelled, in a locked period is finance's to do (pipeline asks; see there).
        from incentives.selectors import locked_period_holding
        from pipeline.events import register_locked_period_lookup

        register_locked_period_lookup("incentives-locked-periods", locked_period_holding)

        from salesops.org.events import manager_changed

        manager_changed.connect(_on_manager_changed, dispatch_uid="incentives-team-sums-on-manager-change")

        from salesops.org.events import person_leaving

        person_leaving.connect(_on_person_leaving, dispatch_uid="incentives-end-plans-of-leaver")


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


def _on_person_leaving(
    sender: object, *, person_id: int, end_date: str, actor_id: int | None, **_: object
) -> str | None:
    """A leaver's plan assignments end on their last day (each end audited; their pay is recomputed from
    there). An assignment starting after that day is refused rather than dropped: sales ops decide."""
    import datetime as dt

    from incentives.models import PlanAssignment
    from incentives.services import plan_assignment_end
    from salesops.api import DomainError
    from salesops.org.models import User

    last_day = dt.date.fromisoformat(end_date)
    assignments = PlanAssignment.objects.filter(person_id=person_id).select_related("plan").order_by("start")
    later = assignments.filter(start__gt=last_day).first()
    if later is not None:
        raise DomainError(
            f"This person is assigned {later.plan.name} from {later.start}, after their last day {last_day}: "
            "remove that assignment first, or choose a later last day.",
            field="end_date",
        )
    running = [a for a in assignments if a.end is None or a.end > last_day]
    if not running:
        return None
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    for assignment in running:
        plan_assignment_end(actor=actor, assignment=assignment, end=last_day)  # type: ignore[arg-type]
    plans = ", ".join(a.plan.name for a in running)
    return f"Plan assignment{'s' if len(running) != 1 else ''} ({plans}) ended on {last_day}."
