"""The query layer against the known book (tests/reporting/conftest.py): totals, groups, and the same
numbers from the rollups as from the facts."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from reporting.kpis import KpiRow
from reporting.queries import Slice, StageFlow, drill_sql, kpi_aggregates, stage_flow

Q1 = (dt.date(2026, 1, 1), dt.date(2026, 3, 31))
Q4 = (dt.date(2025, 10, 1), dt.date(2025, 12, 31))


@pytest.mark.parametrize("facts_only", [False, True])
def test_totals_and_groups(book, facts_only):
    o = book.org
    result = kpi_aggregates(Slice(*Q1), ["owner", "region", "manager", "month"], facts_only=facts_only)
    total = KpiRow(None, result[(0, None)][None])
    assert total.bookings == Decimal("65000")
    assert (total.won_count, total.lost_count) == (4, 3)
    assert total.win_rate == pytest.approx(4 / 7)
    assert total.avg_deal_size == Decimal("16250")
    assert total.cycle_days_mean == 32.5
    assert total.cycle_days_median == 30
    assert total.open_pipeline == Decimal("50000")
    assert total.weighted_pipeline == Decimal("30000")
    owners = result[(0, "owner")]
    assert {k: v.bookings for k, v in owners.items()} == {o.rep_a.pk: 25000, o.rep_b.pk: 20000, o.rep_c.pk: 20000}
    assert owners[o.rep_a.pk].won_count == 2 and owners[o.rep_b.pk].lost_count == 2
    regions = result[(0, "region")]
    assert {k: v.bookings for k, v in regions.items()} == {o.rep_a.region_id: 45000, o.rep_c.region_id: 20000}
    managers = result[(0, "manager")]
    assert managers[o.manager_east.pk].bookings == 45000 and managers[o.manager_east.pk].won_count == 3
    months = result[(0, "month")]
    assert {k.month: v.bookings for k, v in months.items()} == {1: 20000, 2: 10000, 3: 35000}
    if facts_only:
        assert owners[o.rep_a.pk].cycle_days_median == 35


def test_periods_side_by_side_and_people_scope(book):
    o = book.org
    result = kpi_aggregates(Slice(*Q1, people=(o.rep_a.pk,)), ["owner"], periods=[Q1, Q4])
    assert result[(0, None)][None].bookings == 25000
    assert result[(1, None)][None].bookings == 8000
    assert result[(1, "owner")][o.rep_a.pk].won_count == 1


def test_product_breakdown_from_rollup_equals_facts(book):
    rolled = kpi_aggregates(Slice(*Q1), ["product"])
    facts = kpi_aggregates(Slice(*Q1), ["product"], facts_only=True)
    assert rolled[(0, "product")] == facts[(0, "product")]
    core = book.products["core"].pk
    assert rolled[(0, "product")][core].bookings == 30000  # A1 and B1; A3 lost, A4 open
    assert rolled[(0, "product")][core].open_amount == 50000


def test_stage_flow_counts_entries_and_time(book):
    s = book.stages
    flow = stage_flow(Slice(*Q1))
    prospecting = flow[s["Prospecting"].pk]
    # Entered Prospecting in Q1: A1, A2, A3, A4, B2, B3, C1, C2 (B1 entered in December).
    assert prospecting.entered == 8
    # … of which went further: A1, A2, A3 (to Qualification), A4, B3, C1 (won), C2 (Discovery).
    assert prospecting.advanced == 7
    qualification = flow[s["Qualification"].pk]
    # A1, A2, A3, A4, B3 entered Qualification; A3 and B3 were lost from it.
    assert (qualification.entered, qualification.advanced) == (5, 3)
    assert qualification.median_days == 27  # A4 8, A2 10, B3 27, A1 30, A3 42


def test_stage_flow_counts_a_deal_back_in_a_stage_once(book):
    """kpis.md: stage conversion is over the deals that entered a stage in the range. A deal that went back
    to Qualification in February entered it once in Q1, and went further (to Discovery) after that."""
    from reporting.refresh import refresh_changed
    from tests.reporting.books import make_deal

    s = book.stages
    qual, disc = s["Qualification"].pk, s["Discovery"].pk
    feb = (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    before = {rng: stage_flow(Slice(*rng)) for rng in (Q1, feb)}
    make_deal(owner=book.org.rep_b, stage=s["Closed Lost"], amount="0", close="2026-02-20", created="2026-01-05",
              path=[(s["Prospecting"], "2026-01-05"), (s["Qualification"], "2026-01-10"), (s["Discovery"], "2026-01-20"),
                    (s["Qualification"], "2026-02-05"), (s["Closed Lost"], "2026-02-20")])  # fmt: skip
    refresh_changed()

    for facts_only in (False, True):
        q1, february = stage_flow(Slice(*Q1), facts_only=facts_only), stage_flow(Slice(*feb), facts_only=facts_only)
        # Q1: one more deal entered Qualification (not two stays), and it went further (Discovery).
        assert q1[qual].entered == before[Q1][qual].entered + 1
        assert q1[qual].advanced == before[Q1][qual].advanced + 1
        assert (q1[disc].entered, q1[disc].advanced) == (before[Q1][disc].entered + 1, before[Q1][disc].advanced)
        # February alone: it entered Qualification again and was lost from it, so it did not go further.
        assert february[qual].entered == (before[feb][qual].entered if qual in before[feb] else 0) + 1
        assert february[qual].advanced == (before[feb][qual].advanced if qual in before[feb] else 0)
        # Both stays in Qualification ended in Q1: one more deal left it (not two stays), while time in stage
        # counts both stays (10 and 15 days, beside A4 8, A2 10, B3 27, A1 30 and A3 42).
        assert (before[Q1][qual].left, q1[qual].left) == (5, 6)
        assert q1[qual].mean_days == pytest.approx((8 + 10 + 27 + 30 + 42 + 10 + 15) / 7)
        # February alone: its second stay ended there, the first (20 January) before: it left once there too.
        assert february[qual].left == (before[feb][qual].left if qual in before[feb] else 0) + 1


def test_the_funnel_counts_deals_in_every_column_as_its_drill_down_lists_them(book, client_for):
    """docs/reporting.md: every count of the funnel is of deals. A deal that entered and left Discovery twice in
    Q1 is one deal in "entered", "went further" and "left" (its stays were two, so "left" said 2 for it while its
    drill-down listed it once); the time in stage still has both stays."""
    from reporting.queries import drill_count
    from reporting.refresh import refresh_changed
    from tests.reporting.books import make_deal

    s = book.stages
    disc = s["Discovery"].pk
    before = stage_flow(Slice(*Q1))
    make_deal(owner=book.org.rep_a, stage=s["Closed Won"], amount="5000", close="2026-03-20", created="2026-01-05",
              path=[(s["Prospecting"], "2026-01-05"), (s["Discovery"], "2026-01-10"), (s["Qualification"], "2026-01-17"),
                    (s["Discovery"], "2026-02-02"), (s["Proposal"], "2026-02-12"), (s["Closed Won"], "2026-03-20")])  # fmt: skip
    refresh_changed()
    for facts_only in (False, True):
        flow = stage_flow(Slice(*Q1), facts_only=facts_only)[disc]
        was = before.get(disc, StageFlow(disc, 0, 0, 0, None, None))
        assert (flow.entered - was.entered, flow.advanced - was.advanced, flow.left - was.left) == (1, 1, 1)
        for measure, number in (("entered", flow.entered), ("left", flow.left)):
            assert drill_count(*drill_sql(Slice(*Q1), measure, stage=disc))[0] == number
    # The page's funnel row for Discovery says the same.
    page = client_for(book.org.ops).get("/reporting/manager/", {"period": "2026-Q1"}).content.decode()
    funnel = page.split('data-testid="panel-funnel"')[1].split("</section>")[0]
    row = next(r for r in re.findall(r"<tr>.*?</tr>", funnel, re.S) if ">Discovery<" in r)
    cells = re.findall(r'<td class="num"><a [^>]*>([^<]*)</a></td>', row)
    # entered, went further, conversion, left, median and mean days (stays of 7 and 10 days, and another's 10)
    assert cells == [str(flow.entered), str(flow.advanced), "66.7 %", str(flow.left), "10.0 d", "9.0 d"]
    assert (flow.entered, flow.advanced, flow.left) == (3, 2, 2)


def test_stage_flow_from_rollups_equals_facts(book):
    for slc in (Slice(*Q1), Slice(*Q1, product=book.products["core"].pk), Slice(dt.date(2025, 10, 1), Q1[1])):
        assert stage_flow(slc) == stage_flow(slc, facts_only=True)


def test_the_migration_fills_existing_stays_as_the_refresh_writes_them(book):
    """reporting/0009 fills `prev_entered_on` of the stays already stored: the same values as a refresh."""
    import importlib

    from django.db import connection

    from reporting.refresh import refresh_changed
    from tests.reporting.books import make_deal

    s = book.stages
    make_deal(owner=book.org.rep_b, stage=s["Closed Lost"], amount="0", close="2026-02-20", created="2026-01-05",
              path=[(s["Prospecting"], "2026-01-05"), (s["Qualification"], "2026-01-10"), (s["Discovery"], "2026-01-20"),
                    (s["Qualification"], "2026-02-05"), (s["Closed Lost"], "2026-02-20")])  # fmt: skip
    refresh_changed()
    read = "SELECT deal_id, stage_id, entered_on, prev_entered_on FROM reporting_stagespell ORDER BY 1, 2, 3"
    with connection.cursor() as cursor:
        cursor.execute(read)
        written = cursor.fetchall()
        assert sum(row[3] is not None for row in written) == 1  # the one re-entry
        cursor.execute("UPDATE reporting_stagespell SET prev_entered_on = NULL")
        cursor.execute(importlib.import_module("reporting.migrations.0009_stage_reentries").FILL)
        cursor.execute(read)
        assert cursor.fetchall() == written


def test_the_migration_fills_each_stays_previous_exit_as_the_refresh_writes_it(book):
    """reporting/0010 fills `prev_left_on` of the stays already stored, and the company's repeated exits by month:
    the same values as a refresh."""
    import importlib

    from django.db import connection

    from reporting.refresh import refresh_changed
    from tests.reporting.books import make_deal

    s = book.stages
    make_deal(owner=book.org.rep_b, stage=s["Closed Lost"], amount="0", close="2026-02-20", created="2026-01-05",
              path=[(s["Prospecting"], "2026-01-05"), (s["Qualification"], "2026-01-10"), (s["Discovery"], "2026-01-20"),
                    (s["Qualification"], "2026-02-05"), (s["Closed Lost"], "2026-02-20")])  # fmt: skip
    refresh_changed()
    migration = importlib.import_module("reporting.migrations.0010_stage_reexits")
    spells = "SELECT deal_id, stage_id, entered_on, prev_left_on FROM reporting_stagespell ORDER BY 1, 2, 3"
    reexits = 'SELECT month, prev_month, pipeline_id, stage_id, product_id, "left" FROM reporting_stagereexitmonth ORDER BY 1, 2, 3, 4, 5'
    with connection.cursor() as cursor:
        cursor.execute(spells)
        written = cursor.fetchall()
        assert [row[3] for row in written if row[3] is not None] == [dt.date(2026, 1, 20)]  # the one repeated exit
        cursor.execute(reexits)
        months = cursor.fetchall()
        assert [(row[0], row[1], row[5]) for row in months] == [(dt.date(2026, 2, 1), dt.date(2026, 1, 1), 1)]
        cursor.execute("UPDATE reporting_stagespell SET prev_left_on = NULL")
        cursor.execute("DELETE FROM reporting_stagereexitmonth")
        cursor.execute(migration.FILL)
        cursor.execute(migration.REEXITS)
        cursor.execute(spells)
        assert cursor.fetchall() == written
        cursor.execute(reexits)
        assert cursor.fetchall() == months


def test_the_migrations_fill_a_same_day_return_to_a_stage_by_the_history_not_the_row_ids(org, client_for):
    """A deal in Qualification on 10 January goes to Discovery and back the same day, then stays in Qualification until
    it is lost on 20 February: it left Qualification in January (once) and in February. Stays written before
    reporting/0010 may have ids out of the history's order; 0010 broke the tie of the two stays begun on 10 January by
    id, gave the first stay the second one's exit (20 February) as its previous exit, and January's funnel showed 0
    deals that left Qualification while the list behind the cell named the deal. The migrations fill each stay as the
    refresh writes it, whatever the ids, and the funnel counts what its list shows."""
    import importlib
    import pkgutil

    from django.db import connection

    import reporting.migrations
    from reporting.queries import drill_count
    from reporting.refresh import refresh_changed
    from tests.factories import default_stages
    from tests.reporting.books import make_deal

    s = default_stages()
    qual = s["Qualification"]
    make_deal(owner=org.rep_b, stage=s["Closed Lost"], amount="0", close="2026-02-20", created="2026-01-05",
              path=[(s["Prospecting"], "2026-01-05"), (qual, "2026-01-10"), (s["Discovery"], "2026-01-10"),
                    (qual, "2026-01-10"), (s["Closed Lost"], "2026-02-20")])  # fmt: skip
    refresh_changed()
    january, q1 = Slice(dt.date(2026, 1, 1), dt.date(2026, 1, 31)), Slice(*Q1)

    def funnel_left(slc: Slice) -> tuple[int, int, int]:
        """Deals that left Qualification: from the months, from the stays, and in the list behind the cell."""
        listed = drill_count(*drill_sql(slc, "left", stage=qual.pk))[0]
        return stage_flow(slc)[qual.pk].left, stage_flow(slc, facts_only=True)[qual.pk].left, listed

    assert funnel_left(january) == (1, 1, 1) and funnel_left(q1) == (1, 1, 1)
    spells = "SELECT stage_id, entered_on, left_on, prev_left_on FROM reporting_stagespell ORDER BY 1, 2, 3"
    reexits = 'SELECT month, prev_month, stage_id, "left" FROM reporting_stagereexitmonth ORDER BY 1, 2, 3'
    with connection.cursor() as cursor:
        cursor.execute(spells)
        written = cursor.fetchall()
        assert [(r[1], r[2], r[3]) for r in written if r[0] == qual.pk] == [
            (dt.date(2026, 1, 10), dt.date(2026, 1, 10), None),
            (dt.date(2026, 1, 10), dt.date(2026, 2, 20), dt.date(2026, 1, 10)),
        ]
        cursor.execute(reexits)
        months = cursor.fetchall()
        # The stays as an earlier release may have stored them (ids against the history's order), before 0010.
        cursor.execute("UPDATE reporting_stagespell SET id = -id, prev_left_on = NULL")
        cursor.execute("DELETE FROM reporting_stagereexitmonth")
        migration = importlib.import_module("reporting.migrations.0010_stage_reexits")
        cursor.execute(migration.FILL)
        cursor.execute(migration.REEXITS)
        for later in sorted(m.name for m in pkgutil.iter_modules(reporting.migrations.__path__) if m.name > "0010"):
            for statement in getattr(importlib.import_module(f"reporting.migrations.{later}"), "STORED_STAYS", ()):
                cursor.execute(statement)
        assert funnel_left(january) == (1, 1, 1) and funnel_left(q1) == (1, 1, 1)
        cursor.execute(spells)
        assert cursor.fetchall() == written
        cursor.execute(reexits)
        assert cursor.fetchall() == months


def test_at_risk_deals_are_judged_on_the_company_s_today_not_the_server_s(settings):
    """kpis.md: dates are the company's. At 23:30 on 31 December in Los Angeles (07:30 UTC on 1 January), a deal's
    days in its stage and its quiet days count to 31 December, whatever date the server's clock shows."""
    settings.TIME_ZONE = "America/Los_Angeles"
    with freeze_time("2027-01-01 07:30:00"):
        _sql, params = drill_sql(Slice(dt.date(2026, 10, 1), dt.date(2026, 12, 31)), "at_risk", quiet_days=30)
    assert params[0] == dt.date(2026, 12, 31)  # the day a deal's time in stage is counted to
    assert params[2] == dt.datetime(2026, 12, 1, 0, 0, tzinfo=ZoneInfo("America/Los_Angeles"))  # quiet since
