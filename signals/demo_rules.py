"""The demo's signals: rules. Two live rules sales ops wrote, with firings relative to `today`:

- "Proposal gone quiet" (daily at 07:00): an open deal in Proposal for 14 days with nothing logged for 14 days tells
  its owner and their manager; evaluated as of this morning, so its firings are today's;
- "Big deal in commit" (a deal changes): an open deal of 50,000 or more in the commit category tells finance (cash
  planning) and the owner's manager; evaluated over every deal as of yesterday, so its firings are yesterday's.

Both are written through the rules services (sales ops the author) and evaluated by the same code the sweep runs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone


def seed(*, org: Any, seed: int, today: dt.date) -> dict[str, int]:
    from pipeline.selectors import stages_by_id
    from signals.services import rules as services

    proposal = next((s for s in stages_by_id().values() if s.name == "Proposal"), None)
    stage = f"stage={proposal.pk}&" if proposal is not None else ""
    quiet = services.rule_create(
        actor=org.ops,
        name="Proposal gone quiet",
        description="Deals in Proposal for two weeks with nothing logged: the owner and their manager hear of it once.",
        trigger="schedule",
        daily_hour=7,
        conditions=f"{stage}status=open&min_days_in_stage=14&min_days_idle=14",
        actions=[{"kind": "notify_owner"}, {"kind": "notify_manager"}],
        is_live=True,
    )
    big = services.rule_create(
        actor=org.ops,
        name="Big deal in commit",
        description="An open deal of 50,000 or more in commit: finance plans the cash, the manager checks the call.",
        trigger="deal_change",
        conditions="status=open&category=commit&min_amount=50000",
        actions=[{"kind": "notify_role", "role": "finance"}, {"kind": "notify_manager"}],
        is_live=True,
    )
    zone = timezone.get_current_timezone()
    # Never in the future: a demo seeded before 07:05 has the rule's run of this morning at the moment it is seeded.
    this_morning = min(dt.datetime.combine(today, dt.time(7, 5), tzinfo=zone), timezone.now())
    yesterday = dt.datetime.combine(today - dt.timedelta(days=1), dt.time(15, 30), tzinfo=zone)
    fired = services.rule_evaluate(rule=big, now=yesterday)  # every deal, as the import that loaded them would
    fired += services.rule_evaluate(rule=quiet, now=this_morning)
    return {"rules": 2, "rule_firings": fired}
