"""A small company with deals in 2026-Q4, frozen on 2026-11-16 (mid-quarter) by default."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from freezegun import freeze_time

from pipeline.models import Deal, DealChange
from tests.factories import ContactFactory, DealFactory, default_stages

TODAY = dt.date(2026, 11, 16)


@pytest.fixture
def frozen():
    with freeze_time("2026-11-16 12:00:00"):
        yield


def make_deal(owner, stage: str, amount: str | None, close: dt.date, **extra) -> Deal:
    stages = default_stages()
    if stage == "Negotiation":  # its exit criteria ask for a primary contact
        extra.setdefault("contact", ContactFactory.create())
    deal = DealFactory.create(owner=owner, stage=stages[stage], amount=None if amount is None else Decimal(amount),
                              close_date=close, **extra)  # fmt: skip
    # The history row every real deal starts with (the services, imports and the demo write it).
    DealChange.objects.create(deal=deal, field="created", new_value=stage, new_ref=stages[stage].pk,
                              changed_at=deal.created_at)  # fmt: skip
    return deal


@pytest.fixture
def q4(org, frozen):
    """rep_a: won 10,000 + Negotiation (commit) 20,000 + Proposal (best case) 5,000 + Prospecting 1,000 (pipeline);
    rep_b: won 7,000 + Discovery (best case) 3,000; rep_c: Negotiation 4,000; manager_east owns won 1,000.
    Outside the quarter: rep_a won 99,000 in 2026-09 and Negotiation 50,000 in 2027-01. Lost deals count nowhere."""
    nov = dt.date(2026, 11, 20)
    deals = {
        "a_won": make_deal(org.rep_a, "Closed Won", "10000.00", dt.date(2026, 10, 5)),
        "a_commit": make_deal(org.rep_a, "Negotiation", "20000.00", nov),
        "a_best": make_deal(org.rep_a, "Proposal", "5000.00", dt.date(2026, 12, 10)),
        "a_pipe": make_deal(org.rep_a, "Prospecting", "1000.00", nov),
        "a_lost": make_deal(org.rep_a, "Closed Lost", "8000.00", nov),
        "a_sep": make_deal(org.rep_a, "Closed Won", "99000.00", dt.date(2026, 9, 30)),
        "a_jan": make_deal(org.rep_a, "Negotiation", "50000.00", dt.date(2027, 1, 5)),
        "b_won": make_deal(org.rep_b, "Closed Won", "7000.00", dt.date(2026, 11, 2)),
        "b_best": make_deal(org.rep_b, "Discovery", "3000.00", dt.date(2026, 12, 1)),
        "c_commit": make_deal(org.rep_c, "Negotiation", "4000.00", nov),
        "m_won": make_deal(org.manager_east, "Closed Won", "1000.00", dt.date(2026, 12, 1)),
    }
    return deals
