"""The dry run against a hand count: four deals with a known history over the last 90 days, the rule "in Proposal
for at least 10 days"; the replay finds exactly the episode starts counted by hand below, per week."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from freezegun import freeze_time

from pipeline.models import DealChange
from signals.services import rules as services
from tests.factories import DealFactory, default_stages

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 30)  # the window: 1 Sep to 29 Nov 2026; 31 Aug is the baseline day


def at(day: str, hour: int = 12) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour)))


def _moves(deal: Any, *moves: tuple[str, int, Any, Any]) -> None:
    for day, hour, old, new in moves:
        DealChange.objects.create(
            deal=deal,
            field="stage",
            old_value=old.name,
            new_value=new.name,
            old_ref=old.pk,
            new_ref=new.pk,
            changed_at=at(day, hour),
        )


def test_dry_run_matches_the_hand_count(org: Any) -> None:
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  (pandas is imported before the clock is frozen)
    s = default_stages()
    # A: Prospecting since 1 Aug, into Proposal 5 Sep 12:00 → 10 full days by the end of 15 Sep: a start on 15 Sep.
    a = DealFactory.create(
        owner=org.rep_a, name="A", stage=s["Proposal"], created_at=at("2026-08-01"), stage_entered_at=at("2026-09-05")
    )
    _moves(a, ("2026-09-05", 12, s["Prospecting"], s["Proposal"]))
    # B: in Proposal since 1 Aug (already matching on the baseline day: no start), out on 1 Oct 10:00, back on 3 Oct
    # 10:00 → 10 days by the end of 13 Oct: a start on 13 Oct.
    b = DealFactory.create(
        owner=org.rep_a,
        name="B",
        stage=s["Proposal"],
        created_at=at("2026-08-01"),
        stage_entered_at=at("2026-10-03", 10),
    )
    _moves(b, ("2026-10-01", 10, s["Proposal"], s["Negotiation"]), ("2026-10-03", 10, s["Negotiation"], s["Proposal"]))
    # C: created in Proposal on 25 Nov: never 10 days.
    DealFactory.create(
        owner=org.rep_b, name="C", stage=s["Proposal"], created_at=at("2026-11-25"), stage_entered_at=at("2026-11-25")
    )
    # D: into Proposal on 20 Sep 08:00 (from Prospecting), won on 1 Nov → a start on 30 Sep, then it leaves.
    d = DealFactory.create(
        owner=org.rep_c, name="D", stage=s["Closed Won"], created_at=at("2026-09-01"), stage_entered_at=at("2026-11-01")
    )
    _moves(d, ("2026-09-20", 8, s["Prospecting"], s["Proposal"]), ("2026-11-01", 12, s["Proposal"], s["Closed Won"]))

    with freeze_time(at("2026-11-30", 9)):
        run = services.dry_run(conditions=f"stage={s['Proposal'].pk}&min_days_in_stage=10", today=TODAY)
    assert run.first_day == dt.date(2026, 9, 1) and run.last_day == dt.date(2026, 11, 29)
    assert run.starts == 3 and run.deals == 3
    assert [(name, day) for _pk, name, day in run.sample] == [
        ("A", dt.date(2026, 9, 15)),
        ("D", dt.date(2026, 9, 30)),
        ("B", dt.date(2026, 10, 13)),
    ]
    weeks = {week: n for week, n in run.per_week if n}
    assert weeks == {dt.date(2026, 9, 14): 1, dt.date(2026, 9, 28): 1, dt.date(2026, 10, 12): 1}
    assert len(run.per_week) == 13  # every week of the window (Mondays 31 Aug to 23 Nov), quiet ones at 0
    # On the last day A and B match (D is won, C too young): the same as the live query says now.
    assert run.per_day_matching[-1] == (dt.date(2026, 11, 29), 2)
    with freeze_time(at("2026-11-30", 0)):
        assert services.matching_count(f"stage={s['Proposal'].pk}&min_days_in_stage=10") == 2


def test_open_deals_only_narrow_the_replay_but_not_the_count(org: Any) -> None:
    s = default_stages()
    a = DealFactory.create(
        owner=org.rep_a, name="A", stage=s["Proposal"], created_at=at("2026-08-01"), stage_entered_at=at("2026-09-05")
    )
    _moves(a, ("2026-09-05", 12, s["Prospecting"], s["Proposal"]))
    run = services.dry_run(conditions="status=open&min_days_in_stage=10", today=TODAY)
    # Open throughout; in Prospecting since creation (1 Aug: matching on the baseline day), a new stage on 5 Sep
    # (the episode ends), 10 days later a new one: one start.
    assert run.starts == 1 and run.sample[0][2] == dt.date(2026, 9, 15)


def test_a_deal_unchanged_in_the_window_counts_every_day_and_never_starts(org: Any) -> None:
    s = default_stages()
    DealFactory.create(
        owner=org.rep_a,
        name="Steady",
        stage=s["Proposal"],
        amount=90000,
        created_at=at("2026-08-01"),
        stage_entered_at=at("2026-08-01"),
    )
    b = DealFactory.create(
        owner=org.rep_a,
        name="Raised",
        stage=s["Proposal"],
        amount=90000,
        created_at=at("2026-08-01"),
        stage_entered_at=at("2026-08-01"),
    )
    DealChange.objects.create(deal=b, field="amount", old_value="10000", new_value="90000", changed_at=at("2026-10-05"))
    run = services.dry_run(conditions="status=open&min_amount=50000", today=TODAY)
    assert run.starts == 1 and run.sample[0][1:] == ("Raised", dt.date(2026, 10, 5))
    assert run.per_day_matching[0] == (dt.date(2026, 9, 1), 1)  # Steady only; Raised was 10,000 then
    assert run.per_day_matching[-1] == (dt.date(2026, 11, 29), 2)


def test_a_deal_that_entered_its_stage_just_before_the_window_starts_when_its_days_are_full(org: Any) -> None:
    """The replayed history starts with the window, yet a deal that entered Proposal on 27 Aug (four days before
    the window) and left it in October has been in Proposal since 27 Aug, not since it was created on 1 Jul: under
    "in Proposal for at least 10 days" it starts on 6 Sep, not already on the baseline day."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  (pandas is imported before the clock is frozen)
    s = default_stages()
    e = DealFactory.create(owner=org.rep_a, name="E", stage=s["Negotiation"], created_at=at("2026-07-01"),
                           stage_entered_at=at("2026-10-20"))  # fmt: skip
    _moves(e, ("2026-08-27", 12, s["Prospecting"], s["Proposal"]), ("2026-10-20", 12, s["Proposal"], s["Negotiation"]))
    with freeze_time(at("2026-11-30", 9)):
        run = services.dry_run(conditions=f"stage={s['Proposal'].pk}&min_days_in_stage=10", today=TODAY)
    assert (run.starts, [(name, day) for _pk, name, day in run.sample]) == (1, [("E", dt.date(2026, 9, 6))])
