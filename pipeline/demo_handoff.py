"""The demo's lead hand-off and product gaps (signals' demo asks for them: signals/demo_leads.py).

Pipeline's own demo (pipeline/demo.py) makes the leads and the lost deals; this helper gives them what signals reads,
relative to `now`, so the pages look alive on any day:
- every lead is routed to its owner when it was made; the demo's leads are re-dated over the last 60 days (a
  converted lead keeps its dates: it was made before its deal). Most were answered, after a time drawn per source
  (inbound and website leads fast, the rest in hours), a few late; the open leads made in the last three days that
  nobody answered yet are past their SLA now (`unanswered`, at least three: each waits over a day, longer than the
  demo's longest SLA);
- a share of the lost deals (those lost to a feature gap or a competitor first) name a product gap, kept in their
  history as if given when they were closed as lost.
Plain bulk writes, no events: nothing here is pay-relevant, and rules and notifications should not fire on demo
data made up after the fact."""

from __future__ import annotations

import datetime as dt
import math
import random

from django.db.models import Max

from pipeline.models import Deal, DealChange, DealStatus, Lead, LeadStatus

FAST_SOURCES = {"Inbound": 25.0, "Website": 15.0}  # median minutes to the first answer
SLOW_MEDIAN = 150.0
WAITING_AT_LEAST_HOURS = 25  # the unanswered leads wait longer than the demo's longest SLA (24 hours)
OPEN = (LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.QUALIFIED)
PRODUCT_GAPS = [  # (tag, weight)
    ("SSO / SAML", 5),
    ("Salesforce sync", 4),
    ("Offline mobile app", 3),
    ("Custom reporting", 3),
    ("EU data residency", 2),
    ("API rate limits", 1),
]


def seed_lead_handoff(*, seed: int, now: dt.datetime, unanswered: int = 4) -> dict[str, int]:
    """Re-date the demo's leads (see above). Returns {"leads_routed": n, "leads_answered": n, "leads_waiting": n}."""
    rng = random.Random(seed * 104729 + 5)  # noqa: S311 (demo choices, not a secret)
    leads = list(Lead.objects.order_by("id"))
    waiting = [lead for lead in leads if lead.status in OPEN][:unanswered]
    answered = 0
    for lead in leads:
        if lead.status == LeadStatus.CONVERTED and lead.converted_at:
            routed = lead.created_at
        elif lead in waiting:
            # Past even the longest demo SLA (a day, for events), whatever their source: they are breached now.
            routed = now - dt.timedelta(hours=rng.uniform(WAITING_AT_LEAST_HOURS, 72))
        else:
            routed = now - dt.timedelta(days=rng.uniform(0.5, 60))
        lead.created_at = lead.routed_at = routed
        lead.first_response_at = None
        if lead not in waiting:
            median = FAST_SOURCES.get(lead.source, SLOW_MEDIAN)
            minutes = min(median * math.exp(rng.gauss(0, 1.0)), 60 * 24 * 3)
            answer = routed + dt.timedelta(minutes=max(minutes, 2))
            if lead.converted_at and answer > lead.converted_at:
                answer = routed + (lead.converted_at - routed) / 2
            if answer <= now:
                lead.first_response_at = answer
                answered += 1
    Lead.objects.bulk_update(leads, ["created_at", "routed_at", "first_response_at"], batch_size=500)
    return {"leads_routed": len(leads), "leads_answered": answered, "leads_waiting": len(leads) - answered}


def seed_product_gaps(*, seed: int, share: float = 0.45) -> int:
    """Give a product gap to about `share` of the lost deals (feature gaps and competitors first), each with its
    history row dated when the deal was closed as lost. Returns how many deals got one."""
    rng = random.Random(seed * 7727 + 3)  # noqa: S311 (demo choices, not a secret)
    lost = list(Deal.objects.filter(status=DealStatus.LOST, product_gap="").order_by("id"))
    wanted = round(len(lost) * share)
    first = [d for d in lost if d.lost_reason in ("Feature gap", "Lost to competitor")]
    rest = [d for d in lost if d not in first]
    rng.shuffle(rest)
    chosen = (first + rest)[:wanted]
    tags, weights = zip(*PRODUCT_GAPS, strict=True)
    history = []
    # A deal's history is strictly ascending in time: the gap is noted a second after its last change (the move to
    # lost, or a later note), never at the same moment.
    last_change = dict(
        DealChange.objects.filter(deal__in=chosen).values("deal_id").annotate(last=Max("changed_at"))
        .values_list("deal_id", "last")
    )  # fmt: skip
    for deal in chosen:
        deal.product_gap = rng.choices(tags, weights=weights)[0]
        at = max(deal.stage_entered_at, last_change.get(deal.pk) or deal.stage_entered_at) + dt.timedelta(seconds=1)
        history.append(DealChange(deal=deal, field=DealChange.Field.PRODUCT_GAP, old_value="",
                                  new_value=deal.product_gap, changed_at=at, changed_by=deal.owner))  # fmt: skip
    Deal.objects.bulk_update(chosen, ["product_gap"], batch_size=500)
    DealChange.objects.bulk_create(history, batch_size=500)
    return len(chosen)
