"""`manage.py bench_data`: the generated company is consistent, shaped as the issue asks, and the same for
the same seed. Run at the `tiny` scale (2,000 deals, about a second)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F

from bench.generate import SCALES, load_facts
from pipeline.models import Deal, DealChange, DealSplit, Pipeline
from pipeline.services import DEFAULT_STAGES
from salesops.org.models import User

pytestmark = pytest.mark.django_db


def _generate(seed: int = 5, *extra: str) -> dict[str, Any]:
    call_command("bench_data", "--scale", "tiny", "--seed", str(seed), "--today", "2026-11-27", *extra,
                 stdout=io.StringIO())  # fmt: skip
    facts = load_facts()
    assert facts is not None
    return facts


def _one(sql: str) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def _fingerprint() -> tuple[Any, ...]:
    return (
        User.objects.count(),
        Deal.objects.count(),
        DealChange.objects.count(),
        DealSplit.objects.count(),
        _one("SELECT SUM(amount) FROM pipeline_deal"),
        _one("SELECT md5(string_agg(id || ':' || owner_id || ':' || close_date || ':' || stage_id, ',' ORDER BY id)) "
             "FROM pipeline_deal"),
        _one("SELECT md5(string_agg(deal_id || field || changed_at::text, ',' ORDER BY id)) FROM pipeline_dealchange"),
    )  # fmt: skip


def test_tiny_company_has_the_issue_shape():
    facts = _generate()
    spec = SCALES["tiny"]
    assert User.objects.count() == spec.people == facts["people"]
    assert Deal.objects.count() == spec.deals
    won = Deal.objects.filter(status="won").count() / spec.deals
    open_ = Deal.objects.filter(status="open").count() / spec.deals
    assert 0.35 <= won <= 0.45
    assert 0.08 <= open_ <= 0.20
    stage_moves = DealChange.objects.filter(field="stage").count() / spec.deals
    assert 3.5 <= stage_moves <= 4.5
    assert DealChange.objects.filter(field="created").count() == spec.deals
    with_splits = DealSplit.objects.values("deal").distinct().count() / spec.deals
    assert 0.15 <= with_splits <= 0.25
    assert DealSplit.objects.filter(is_overlay=True).exists()
    # Dates: three fiscal years up to today, open pipeline ahead.
    first_close, last_close = _one(
        "SELECT ARRAY[MIN(close_date), MAX(close_date)] FROM pipeline_deal WHERE status <> 'open'"
    )
    assert dt.date(2024, 1, 1) <= first_close < dt.date(2024, 1, 31)
    assert dt.date(2026, 11, 1) <= last_close < dt.date(2026, 11, 27)
    assert _one("SELECT COUNT(*) FROM pipeline_deal WHERE status = 'open' AND close_date >= '2026-11-27'") > 0.9 * (
        open_ * spec.deals
    )
    assert _one("SELECT COUNT(*) FROM pipeline_dealchange WHERE changed_at >= '2026-11-27'") == 0
    # The one pipeline is the default one, made with the standard stages by the service.
    pipeline = Pipeline.objects.get()
    assert pipeline.is_default and pipeline.pk == facts["pipeline_id"]
    assert [s.name for s in pipeline.stages.order_by("position")] == [s["name"] for s in DEFAULT_STAGES]


def test_facts_name_the_subjects_benchmarks_need():
    facts = _generate()
    big = User.objects.get(pk=facts["manager_50_id"])
    assert big.is_manager and big.direct_reports.count() == facts["manager_50_reports"] == SCALES["tiny"].big_team
    assert User.objects.get(pk=facts["manager_10_id"]).direct_reports.filter(is_rep=True).count() == 10
    rep = User.objects.get(pk=facts["rep_id"])
    assert rep.is_rep and rep.is_active and rep.manager_id == facts["manager_10_id"]
    assert Deal.objects.filter(owner=rep, status="open").exists()
    assert User.objects.get(pk=facts["finance_id"]).is_finance
    assert User.objects.get(pk=facts["sales_ops_id"]).is_sales_ops
    assert User.objects.get(pk=facts["ceo_id"]).manager_id is None
    assert facts["usernames"]["rep"] == rep.username
    assert rep.check_password(facts["password"])


@pytest.mark.parametrize("block", [None, 700], ids=["one block", "blocks of 700 deals"])
def test_every_deal_is_consistent(block, monkeypatch):
    # The deals are drawn and written in blocks (bench.generate.DEAL_BLOCK, 50,000: tiny is one block); with
    # blocks of 700 the ids and the history carry on from one block to the next and the facts add up.
    if block is not None:
        monkeypatch.setattr("bench.generate.DEAL_BLOCK", block)
    facts = _generate()
    assert facts["changes"] == DealChange.objects.count() == _one("SELECT MAX(id) FROM pipeline_dealchange")
    assert facts["splits"] == DealSplit.objects.count() == _one("SELECT MAX(id) FROM pipeline_dealsplit")
    assert (
        facts["activities"]
        == _one("SELECT COUNT(*) FROM pipeline_activity")
        == _one("SELECT MAX(id) FROM pipeline_activity")
    )
    assert facts["line_items"] == _one("SELECT COUNT(*) FROM pipeline_deallineitem")
    assert facts["won"] == Deal.objects.filter(status="won").count()
    assert facts["open"] == Deal.objects.filter(status="open").count()
    assert facts["deals_with_splits"] == DealSplit.objects.values("deal").distinct().count()
    assert facts["stage_changes"] == DealChange.objects.filter(field="stage").count()
    assert facts["rep_deals"] == Deal.objects.filter(owner_id=facts["rep_id"]).count()
    # Status matches the stage, for every deal.
    assert _one("""
        SELECT COUNT(*) FROM pipeline_deal d JOIN pipeline_stage s ON s.id = d.stage_id
        WHERE d.status <> CASE WHEN s.is_won THEN 'won' WHEN s.is_lost THEN 'lost' ELSE 'open' END
    """) == 0  # fmt: skip
    # Revenue splits sum to exactly 100 (the deferred trigger agrees: bench_data fired it).
    assert _one("""
        SELECT COUNT(*) FROM (SELECT deal_id FROM pipeline_dealsplit WHERE NOT is_overlay
                              GROUP BY deal_id HAVING SUM(percent) <> 100) bad
    """) == 0  # fmt: skip
    # History: strictly ascending per deal, "created" first, every stage move continues from the last one
    # and the last one is the deal's stage; stage_entered_at is the last move.
    assert _one("""
        SELECT COUNT(*) FROM (SELECT changed_at, LAG(changed_at) OVER (PARTITION BY deal_id ORDER BY id) AS prev
                              FROM pipeline_dealchange) h WHERE changed_at <= prev
    """) == 0  # fmt: skip
    assert _one("""
        SELECT COUNT(*) FROM (SELECT field, ROW_NUMBER() OVER (PARTITION BY deal_id ORDER BY changed_at, id) AS n
                              FROM pipeline_dealchange) h WHERE (n = 1) <> (field = 'created')
    """) == 0  # fmt: skip
    assert _one("""
        SELECT COUNT(*) FROM (
            SELECT field, old_ref, LAG(new_ref) OVER (PARTITION BY deal_id ORDER BY changed_at, id) AS prev
            FROM pipeline_dealchange WHERE field IN ('created', 'stage')) h
        WHERE field = 'stage' AND old_ref IS DISTINCT FROM prev
    """) == 0  # fmt: skip
    assert _one("""
        SELECT COUNT(*) FROM pipeline_deal d JOIN LATERAL (
            SELECT new_ref, changed_at FROM pipeline_dealchange c
            WHERE c.deal_id = d.id AND c.field IN ('created', 'stage') ORDER BY changed_at DESC, id DESC LIMIT 1
        ) last ON true
        WHERE last.new_ref <> d.stage_id OR (d.stage_entered_at <> last.changed_at AND d.stage_entered_at <> d.created_at)
    """) == 0  # fmt: skip
    # Amounts are the sum of their line items; dates and owners make sense.
    assert _one("""
        SELECT COUNT(*) FROM pipeline_deal d LEFT JOIN (
            SELECT deal_id, SUM(quantity * unit_price) AS total FROM pipeline_deallineitem GROUP BY deal_id
        ) l ON l.deal_id = d.id WHERE d.amount IS DISTINCT FROM l.total
    """) == 0  # fmt: skip
    assert Deal.objects.filter(created_date__gte=F("close_date")).count() == 0
    assert _one("""
        SELECT COUNT(*) FROM pipeline_deal d JOIN org_user u ON u.id = d.owner_id
        WHERE NOT u.is_rep OR d.created_date < u.start_date OR (d.status = 'open' AND NOT u.is_active)
    """) == 0  # fmt: skip


def test_same_seed_same_company_other_seed_another():
    _generate(5)
    first = _fingerprint()
    with pytest.raises(CommandError, match="--reset"):
        _generate(5)
    _generate(5, "--reset")
    assert _fingerprint() == first
    _generate(6, "--reset")
    other = _fingerprint()
    assert other[:2] == first[:2]  # same scale
    assert other[4] != first[4]


def test_refused_where_settings_forbid_it_and_nothing_is_truncated(settings, org):
    from salesops.org.models import User

    settings.BENCH_DATA_ALLOWED = False
    people = User.objects.count()
    with pytest.raises(CommandError, match=r"bench_data refuses to run under .*truncates the people and pipeline"):
        call_command("bench_data", "--scale", "tiny", "--reset")
    assert User.objects.count() == people
