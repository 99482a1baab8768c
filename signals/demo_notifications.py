"""The demo's signals: notifications. Each demo login (rep, manager, finance, ops) finds a few notifications in their
bell, some read, some not, dated in the last days relative to `today`, each of a kind their role really gets and
pointing at a page of the demo they may open. Written through `notify` (so preferences and dedupe apply); only
their dates and read marks are set afterwards, as they would have been had the hub run for those days.

The events of the rest of the demo (the open dispute, the locked last quarter) notify too, once the demo's
transaction commits, through the same listeners as in real use."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.urls import reverse
from django.utils import timezone

from signals.models import Kind, Notification
from signals.services.notifications import notify


def _when(today: dt.date, days_ago: int, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(hour, 10)))


def _first_deal(owner_id: int) -> tuple[int, str] | None:
    from pipeline.selectors.notifications import open_deal_of

    return open_deal_of(owner_id)


def seed(*, org: Any, seed: int, today: dt.date) -> dict[str, int]:
    rep, manager = org.reps[0], org.managers[0]
    finance, ops = org.finance, org.ops
    quarter = _quarter(today)
    deal = _first_deal(rep.pk)
    deal_url = reverse("pipeline:deal_detail", args=[deal[0]]) if deal else reverse("pipeline:deal_list")
    deal_name = deal[1] if deal else "a deal"
    forecast_url = reverse("forecasting:grid") + f"?period={quarter}"
    # The manager's own reports (never another team's: roles.md) without a call for the quarter, as the
    # manager's home counts them (the forecasting demo, seeded before, gave most reps one).
    from forecasting import selectors as forecasting_selectors

    team = [r for r in org.reps if r.manager_id == manager.pk and r.is_active]
    called = forecasting_selectors.latest_calls(quarter, person_ids=[r.pk for r in team])
    missing = [r for r in team if r.pk not in called]
    missing_title = (f"{len(missing)} of your reports have not submitted their {quarter} call" if len(missing) > 1
                     else f"One of your reports has not submitted their {quarter} call")  # fmt: skip
    # (person, kind, title, body, url, actor, days ago, hour, read)
    plan: list[tuple[Any, str, str, str, str, Any, int, int, bool]] = [
        (rep, Kind.DEAL_ASSIGNED, f"{manager.display_name} assigned {deal_name} to you", "", deal_url, manager, 6, 10,
         True),
        (rep, Kind.STAGE_MOVE_REFUSED, f"{manager.display_name} could not move {deal_name} to Negotiation",
         f"{deal_name} needs a close date and a contact before Negotiation.", deal_url, manager, 2, 15, False),
        (rep, Kind.ADJUSTMENT_BOOKED, f"{manager.display_name} adjusted your {quarter} forecast call",
         "Your own call stays as you submitted it.", forecast_url, manager, 1, 17, False),
        (rep, Kind.FORECAST_CALL_DUE, f"Your {quarter} forecast call is due today",
         f"Submit your commit and best case for {quarter} by the end of the day.", forecast_url, None, 0, 9, False),
        *([(manager, Kind.FORECAST_CALL_MISSING, missing_title, ", ".join(r.display_name for r in missing[:10]),
            forecast_url, None, 3, 9, True)] if missing else []),
        (manager, Kind.SLA_BREACH, "A lead of your team waited over its response SLA",
         "Its owner was told too; lead response times are on the lead response page.",
         reverse("signals:lead_response"), None, 4, 11, True),
        (manager, Kind.FORECAST_CALL_DUE, f"Your {quarter} forecast call is due today",
         f"Submit your commit and best case for {quarter} by the end of the day.", forecast_url, None, 0, 9, False),
        (finance, Kind.RULE_FIRED, "Big deal in commit: a deal of 50,000 or more moved into commit",
         "A rule sales ops wrote: finance plans the cash for big deals in commit.", reverse("pipeline:deal_list"),
         ops, 4, 11, True),
        (finance, Kind.RULE_FIRED, "Big deal in commit: a deal of 50,000 or more moved into commit",
         "A rule sales ops wrote: finance plans the cash for big deals in commit.", reverse("pipeline:deal_list"),
         ops, 1, 12, False),
        (ops, Kind.SLA_BREACH, "A partner lead waited over its response SLA",
         "Its owner's manager was told; lead response times are on the lead response page.",
         reverse("signals:lead_response"), None, 4, 16, True),
        (ops, Kind.SLA_BREACH, "A web lead waited over its response SLA",
         "Its owner's manager was told; lead response times are on the lead response page.",
         reverse("signals:lead_response"), None, 1, 10, False),
    ]  # fmt: skip
    made = 0
    for index, (person, kind, title, body, url, actor, days_ago, hour, read) in enumerate(plan):
        key = f"demo:{seed}:{index}"
        made += notify(recipient_ids=[person.pk], kind=kind, title=title, body=body, url=url, dedupe_key=key,
                       actor_id=actor.pk if actor is not None else None)  # fmt: skip
        when = _when(today, days_ago, hour)
        Notification.objects.filter(recipient_id=person.pk, dedupe_key=key).update(
            created_at=when, read_at=when + dt.timedelta(hours=2) if read else None
        )
    return {"notifications": made}


def _quarter(today: dt.date) -> str:
    from forecasting.selectors import current_period

    return current_period("quarter", today)
