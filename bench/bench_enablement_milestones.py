"""Enablement benchmark: CRM milestone evaluation for 2,000 enrolled people after a day's changes (issue 16: ≤ 5 s).

For the run, 2,000 people of the enterprise database (active reps first) are enrolled in a programme of four
milestone steps (opportunities created, deals won, amount booked, activities logged), with start dates spread over
the last 90 days (new hires), and evaluated once (yesterday's state). Then a day's changes: 600 of them create a
deal today and 200 of those win one closing today. The timed call is the 10-minute sweep,
`enablement.services.programmes.milestones_evaluate()` over every open milestone step (one pipeline query for the
counts, a bulk update of the values and of the steps reached); the listener's call for the 600 changed people
alone, and the pipeline's counting query alone, are reported beside it. The programme, its enrolments and the
day's deals are removed afterwards, even on failure.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from decimal import Decimal
from typing import Any

from bench.harness import BenchContext, benchmark

PEOPLE = 2000
CREATORS = 600
WINNERS = 200


@benchmark(
    name="enablement: milestone evaluation for 2,000 people after a day's changes",
    unit="s",
    target=5,
    repeat=3,
    issue="16",
    description="enablement.services.programmes.milestones_evaluate over 2,000 enrolments of four milestone steps "
    "each (8,000 open steps) after 600 people created a deal today and 200 won one.",
)
def milestones_after_a_day(ctx: BenchContext) -> dict[str, Any]:
    from django.db.models import Q
    from django.utils import timezone

    from enablement.models import Enrolment, Programme, ProgrammeStep, StepKind, StepProgress
    from enablement.services.programmes import milestones_evaluate
    from pipeline.models import Deal, DealStatus
    from salesops.org.models import User

    now = timezone.now()
    today = timezone.localdate(now)
    people = list(User.objects.order_by("-is_active", "-is_rep", "id").values_list("id", flat=True)[:PEOPLE])
    author = User.objects.filter(Q(is_sales_ops=True) | Q(is_superuser=True)).first() or User.objects.first()
    assert author is not None, "the bench database has no people"
    programme = Programme.objects.create(
        name=f"bench milestones {uuid.uuid4().hex[:8]}", created_by=author, auto_assign=False, is_active=False
    )
    made: list[int] = []
    try:
        # Targets a new hire reaches in months, so most steps stay open (the sweep's worst case).
        specs = [("deals_created", Decimal(60), 60), ("deals_won", Decimal(20), 90),
                 ("booked", Decimal(2000000), 150), ("activities", Decimal(500), 30)]  # fmt: skip
        steps = [
            ProgrammeStep.objects.create(programme=programme, position=i + 1, title=f"bench {kind}",
                                         kind=StepKind.MILESTONE, due_days=days, milestone=kind, target=target)
            for i, (kind, target, days) in enumerate(specs)
        ]  # fmt: skip
        starts = {pk: today - dt.timedelta(days=(i * 7) % 90) for i, pk in enumerate(people)}
        enrolments = Enrolment.objects.bulk_create(
            [Enrolment(programme=programme, person_id=pk, start_date=start) for pk, start in starts.items()],
            batch_size=2000,
        )
        StepProgress.objects.bulk_create(
            [StepProgress(enrolment=e, step=s, due_on=e.start_date + dt.timedelta(days=s.due_days))
             for e in enrolments for s in steps],
            batch_size=5000,
        )  # fmt: skip
        milestones_evaluate(now=now)  # yesterday's state: the values stored
        open_steps = StepProgress.objects.filter(enrolment__programme=programme, completed_at__isnull=True).count()

        # A day's changes: deals created today, some won today (copies of existing deals, new owners and dates).
        opened = Deal.objects.filter(status=DealStatus.OPEN).order_by("id").first()
        won = Deal.objects.filter(status=DealStatus.WON, cancelled_on__isnull=True, amount__isnull=False).first()
        assert opened is not None and won is not None, "the bench database has no open or won deal"
        fresh: list[Deal] = []
        for i, pk in enumerate(people[:CREATORS]):
            template = won if i < WINNERS else opened
            copy = Deal.objects.get(pk=template.pk)
            copy.pk = None
            copy.external_id = ""
            copy.name = f"bench milestone {i}"
            copy.owner_id = pk
            copy.created_date = today
            copy.close_date = today if i < WINNERS else template.close_date
            fresh.append(copy)
        made = [d.pk for d in Deal.objects.bulk_create(fresh, batch_size=1000)]

        started = time.perf_counter()
        reached = milestones_evaluate(now=timezone.now())
        value = time.perf_counter() - started
        StepProgress.objects.filter(enrolment__programme=programme, step__milestone="deals_won").update(
            completed_at=None
        )
        again = time.perf_counter()
        milestones_evaluate(person_ids=people[:CREATORS], now=timezone.now())
        listener = time.perf_counter() - again
        from pipeline.selectors import milestone_counts

        query = time.perf_counter()
        milestone_counts(starts)
        counts = time.perf_counter() - query
        return {
            "value": value,
            "people": len(people),
            "open_steps": open_steps,
            "reached": reached,
            "changed_people_s": round(listener, 3),
            "pipeline_counts_query_s": round(counts, 3),
        }
    finally:
        Deal.objects.filter(pk__in=made).delete()
        programme.delete()
