"""Reports and dashboards grouped and filtered by territory (issue 15): a deal's territory is its account's in
the active territory model, read through planning's published view `planning_account_territory`.

The book of tests/reporting/conftest.py, with accounts: rep_a's deals (A1–A4) at a small French account
(France SMB), rep_b's (B1–B3) at a German one (EMEA), rep_c's (C1, C2) at an American one (Americas).
2026-Q1 bookings by territory: France SMB 40,000 (A1 10,000 + A2 30,000, whoever is credited), EMEA 20,000
(B1), Americas 5,000 (C1): 65,000 in all, the ungrouped total. Open pipeline: France SMB 50,000 (A4).
"""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.models import Deal
from planning.services import territories as services
from reporting.refresh import refresh_deals
from tests.factories import AccountFactory
from tests.planning.test_territories import build

Q1 = {"period": "2026-Q1"}


@pytest.fixture
def territories(book) -> dict[str, int]:
    org = book.org
    accounts = {
        "A": AccountFactory.create(name="Paris SARL", country="FR", employees=20),
        "B": AccountFactory.create(name="Berlin GmbH", country="DE", employees=None),
        "C": AccountFactory.create(name="Austin Inc", country="US", employees=300),
    }
    for key, deal in book.deals.items():
        Deal.objects.filter(pk=deal.pk).update(account=accounts.get(key[0]))
    # A queryset update announces nothing: the facts are refreshed here, as a service's announcement would have.
    refresh_deals([deal.pk for deal in book.deals.values()])
    model, t = build(org)
    services.territory_assign(actor=org.ops, model_id=model.pk)
    services.territory_model_activate(actor=org.ops, model_id=model.pk)
    return t


def _by_territory(client) -> dict[str, str]:
    board = client.get("/api/v1/reporting/dashboards/executive/", Q1).json()
    panel = next(p for p in board["panels"] if p["key"] == "by_territory")
    column = panel["header"].index("bookings")
    return {row[0]: row[column] for row in panel["rows"]}


def test_executive_dashboard_groups_bookings_by_territory_summing_to_the_total(book, territories, api_client_for):
    client = api_client_for(book.org.ops)
    assert _by_territory(client) == {"France SMB": "40000.00", "EMEA": "20000.00", "Americas": "5000.00"}
    total = client.get("/api/v1/reporting/kpis/", Q1).json()[0]["bookings"]
    assert total == "65000.00"
    grouped = client.get("/api/v1/reporting/kpis/", {**Q1, "by": "territory"}).json()
    assert {r["group"]: r["bookings"] for r in grouped} == {
        "Americas": "5000.00",
        "EMEA": "20000.00",
        "France SMB": "40000.00",
    }
    assert sum(float(r["bookings"]) for r in grouped) == float(total)


def test_without_an_active_model_every_deal_is_in_no_territory(book, api_client_for):
    client = api_client_for(book.org.ops)
    grouped = client.get("/api/v1/reporting/kpis/", {**Q1, "by": "territory"}).json()
    assert {r["group"]: r["bookings"] for r in grouped} == {"No territory": "65000.00"}


def test_the_territory_filter_narrows_deals_and_the_drill_down_keeps_it(book, territories, api_client_for):
    client = api_client_for(book.org.ops)
    smb = {**Q1, "territory": territories["smb"]}
    row = client.get("/api/v1/reporting/kpis/", smb).json()[0]
    assert (row["bookings"], row["won_count"], row["lost_count"]) == ("40000.00", 2, 1)
    won = client.get("/api/v1/reporting/deals/", {**smb, "measure": "won"}).json()
    assert sorted(r["deal_id"] for r in won["results"]) == sorted([book.deals["A1"].pk, book.deals["A2"].pk])
    assert won["amount"] == "40000.00"
    pipeline = client.get("/api/v1/reporting/deals/", {**smb, "measure": "open"}).json()
    assert [r["deal_id"] for r in pipeline["results"]] == [book.deals["A4"].pk]
    board = client.get("/api/v1/reporting/dashboards/executive/", smb).json()
    headline = {s["key"]: s["value"] for s in board["panels"][0]["stats"]}
    assert headline["bookings"] == "40000.00"
    # A territory holding no account: nothing, not everything.
    assert client.get("/api/v1/reporting/kpis/", {**Q1, "territory": territories["root"]}).json()[0]["bookings"] in (
        "0.00",
        "0",
    )


def test_scope_is_unchanged_by_the_territory(book, territories, api_client_for):
    """manager_west sees rep_c only: of France SMB's 40,000 that is rep_c's half of A2."""
    client = api_client_for(book.org.manager_west)
    row = client.get("/api/v1/reporting/kpis/", {**Q1, "territory": territories["smb"]}).json()[0]
    assert row["bookings"] == "15000.00"
    grouped = client.get("/api/v1/reporting/kpis/", {**Q1, "by": "territory"}).json()
    assert {r["group"]: r["bookings"] for r in grouped} == {"Americas": "5000.00", "France SMB": "15000.00"}


def test_the_executive_page_offers_the_territory_filter_and_table(book, territories, client_for):
    response = client_for(book.org.ops).get("/reporting/executive/", {**Q1, "territory": territories["smb"]})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="territory"' in body and "France SMB" in body and "By territory" in body


def test_deals_of_a_merged_account_follow_it_into_its_territory(book, territories, api_client_for, monkeypatch):
    """Americas' only account (C1 5,000) merged into the French one: its bookings count for France SMB once the
    reports' sweep runs (the merge stamps the moved deals as changed)."""
    from pipeline import services as pipeline_services
    from pipeline.models import Account
    from reporting.refresh import refresh_changed

    keep = Deal.objects.select_related("account").get(pk=book.deals["A1"].pk).account
    duplicate = Deal.objects.select_related("account").get(pk=book.deals["C1"].pk).account
    assert isinstance(keep, Account) and isinstance(duplicate, Account)
    moved = sorted(Deal.objects.filter(account=duplicate).values_list("pk", flat=True))
    assert moved == sorted([book.deals["C1"].pk, book.deals["C2"].pk])
    stamps = dict(Deal.objects.values_list("pk", "updated_at"))
    announced: list[dict] = []
    monkeypatch.setattr(pipeline_services, "announce_deals_changed", lambda **kw: announced.append(kw))
    pipeline_services.account_merge(actor=book.org.ops, keep=keep, duplicate=duplicate)
    # The moved deals are stamped (the reports' sweep reads updated_at) and announced; the others are not touched.
    after = dict(Deal.objects.values_list("pk", "updated_at"))
    assert sorted(pk for pk in after if after[pk] != stamps[pk]) == moved
    assert [(sorted(a["deal_ids"]), a["fields"], a["pay_relevant"]) for a in announced] == [(moved, ["account"], False)]
    client = api_client_for(book.org.ops)
    assert "Americas" in _by_territory(client)  # the facts still hold the old account until they are refreshed
    refresh_changed()
    assert _by_territory(client) == {"France SMB": "45000.00", "EMEA": "20000.00"}


def test_a_deal_moved_to_another_account_is_announced(book, monkeypatch):
    from pipeline import services as pipeline_services

    announced: list[dict] = []
    monkeypatch.setattr(pipeline_services, "announce_deals_changed", lambda **kw: announced.append(kw))
    deal = book.deals["C1"]
    pipeline_services.deal_update(actor=book.org.ops, deal=deal, account=AccountFactory.create(name="Lyon SAS"))
    assert [(a["deal_ids"], a["fields"]) for a in announced] == [([deal.pk], ["account"])]


def test_without_an_active_model_the_executive_territory_table_says_why(book, api_client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api_client_for(book.org.ops)
    with CaptureQueriesContext(connection) as queries:
        board = client.get("/api/v1/reporting/dashboards/executive/", Q1).json()
    # The territory grouping is not queried at all (only the filter bar's list of territories reads the view).
    assert not [q["sql"] for q in queries.captured_queries if "planning_account_territory tt" in q["sql"]]
    panel = next(p for p in board["panels"] if p["key"] == "by_territory")
    assert panel["rows"] == [] and panel["state"] == "empty" and "No territory model is active" in panel["message"]
    by_region = next(p for p in board["panels"] if p["key"] == "by_region")
    assert by_region["rows"]


def _scans(plan: dict) -> list[tuple[str, str]]:
    """(node type, table) of every scan of a table in an EXPLAIN (FORMAT JSON) plan."""
    found = [(plan["Node Type"], plan["Relation Name"])] if "Relation Name" in plan else []
    for child in plan.get("Plans", []):
        found += _scans(child)
    return found


def test_the_executive_territory_grouping_reads_the_facts_indexes_only(book, territories, api_client_for):
    """With an active model the company's deal and credit facts are grouped by territory from their covering
    indexes alone (they include the account): the table's rows are not read. Scans of the heap are switched
    off so the planner shows what the indexes cover on this small book, as it would choose at scale."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api_client_for(book.org.ops)
    with CaptureQueriesContext(connection) as queries:
        assert _by_territory(client) == {"France SMB": "40000.00", "EMEA": "20000.00", "Americas": "5000.00"}
    grouped = [q["sql"] for q in queries.captured_queries if "planning_account_territory tt" in q["sql"]]
    assert grouped
    scans: list[tuple[str, str]] = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        for sql in grouped:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            scans += _scans(cursor.fetchone()[0][0]["Plan"])
    facts = [scan for scan in scans if scan[1] in ("reporting_dealfact", "reporting_creditfact")]
    assert {table for _, table in facts} == {"reporting_dealfact", "reporting_creditfact"}
    assert {node for node, _ in facts} == {"Index Only Scan"}, facts


def test_every_sum_by_territory_is_the_territorys_own_in_both_periods(book, territories):
    """Every sum of every territory (counts, bookings, cycle days, open pipeline, weighted) is the book's, equals
    what the territory's own filter gives, and with "No territory" they add up to the ungrouped total, in each of
    two periods, alone and beside another dimension: from the facts, and from the territory-month rollup once
    the reports' sweep has built it for the active model."""
    import datetime as dt
    from decimal import Decimal

    from reporting.kpis import Aggregate
    from reporting.queries import Slice, kpi_aggregates
    from reporting.refresh import refresh_changed

    q1, q4 = (dt.date(2026, 1, 1), dt.date(2026, 3, 31)), (dt.date(2025, 10, 1), dt.date(2025, 12, 31))

    def money(value: str) -> Decimal:
        return Decimal(value)

    expected = {
        # A1 won 10,000 in 40 days, A2 won 30,000 in 30 (split, whoever is credited), A3 lost, A4 open 50,000 at 60 %
        territories["smb"]: Aggregate(2, 1, money("40000"), 70, 2, None, 1, money("50000"), money("30000")),
        territories["emea"]: Aggregate(1, 2, money("20000"), 30, 1, None, 0, money("0"), money("0")),  # B1; B2, B3
        territories["americas"]: Aggregate(1, 0, money("5000"), 30, 1, None, 0, money("0"), money("0")),  # C1
    }
    for rollup in (False, True):
        if rollup:
            refresh_changed()  # builds the territory rollup for the active model
        everyone = Slice(*q1, territory_rollup=rollup)
        grouped = kpi_aggregates(everyone, ["territory"], periods=[q1, q4], medians=False)
        beside_product = kpi_aggregates(
            everyone, ["product", "territory"], periods=[q1, q4], medians=False, facts_only=True
        )
        assert grouped[(0, "territory")] == expected
        assert grouped[(1, "territory")] == {None: Aggregate(1, 0, money("8000"), 30, 1, None)}  # P1: no account
        for period in (0, 1):
            assert beside_product[(period, "territory")] == grouped[(period, "territory")]
            total = grouped[(period, None)][None]
            for key, row in grouped[(period, "territory")].items():
                if key is not None:
                    alone = kpi_aggregates(Slice(*q1, territory=key), [], periods=[q1, q4], medians=False)
                    assert row == alone[(period, None)][None]
            rows = grouped[(period, "territory")].values()
            for field in ("won_count", "lost_count", "bookings", "cycle_days_sum", "cycle_count", "open_count"):
                assert sum(getattr(r, field) for r in rows) == getattr(total, field), field
            assert sum(r.open_amount for r in rows) == total.open_amount
            assert sum(r.weighted_amount for r in rows) == total.weighted_amount


def test_the_territory_rollup_follows_the_active_model_and_the_facts(book, territories, api_client_for):
    """The company's sums by territory come from a monthly rollup once the reports' refresh has built it for the
    active model: the same numbers as the facts, kept in step when a deal changes (amount, close month, deleted),
    and set aside (the facts answer) from the moment the model's accounts move until the next refresh rebuilds
    it; archived, there is no rollup."""
    import datetime as dt

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from pipeline.models import Account
    from reporting.models import TerritoryMonth
    from reporting.queries import Slice, kpi_aggregates
    from reporting.refresh import refresh_changed
    from reporting.selectors import report_meta

    q1, q4 = (dt.date(2026, 1, 1), dt.date(2026, 3, 31)), (dt.date(2025, 10, 1), dt.date(2025, 12, 31))
    client = api_client_for(book.org.ops)
    model_id = report_active_model_id()

    def board(expected: dict[str, str]) -> bool:
        """The executive territory table shows `expected`; whether it read the rollup."""
        with CaptureQueriesContext(connection) as queries:
            assert _by_territory(client) == expected
        return "reporting_territorymonth" in " ".join(q["sql"] for q in queries.captured_queries)

    def same_as_facts() -> None:
        rolled = kpi_aggregates(Slice(*q1, territory_rollup=True), ["territory"], periods=[q1, q4], medians=False)
        facts = kpi_aggregates(Slice(*q1), ["territory"], periods=[q1, q4], medians=False)
        assert rolled[(0, "territory")] and rolled[(1, "territory")]
        for period in (0, 1):
            assert rolled[(period, "territory")] == facts[(period, "territory")]

    first = {"France SMB": "40000.00", "EMEA": "20000.00", "Americas": "5000.00"}
    # Built before the model was active: the facts answer until a refresh builds it for this model.
    assert not report_meta().territory_rollup and not board(first)
    refresh_changed()
    assert report_meta().territory_rollup and board(first)
    assert TerritoryMonth.objects.filter(month=dt.date(2026, 2, 1), territory_id=territories["smb"]).exists()
    assert TerritoryMonth.objects.filter(month=dt.date(2025, 12, 1), territory_id=None).exists()  # P1: no account
    same_as_facts()

    # Deals change: their months are rebuilt with their facts (a new amount; a close date moved to another
    # month, still in the quarter; a deal deleted).
    a1, b1, c1 = (book.deals[k].pk for k in ("A1", "B1", "C1"))
    Deal.objects.filter(pk=a1).update(amount=11000, close_date=dt.date(2026, 3, 15))
    refresh_deals([a1])
    assert not TerritoryMonth.objects.filter(month=dt.date(2026, 2, 1), territory_id=territories["smb"], won_count=2)
    assert report_meta().territory_rollup and board({**first, "France SMB": "41000.00"})
    same_as_facts()
    Deal.objects.filter(pk=c1).delete()
    refresh_changed()
    assert report_meta().territory_rollup and board({"France SMB": "41000.00", "EMEA": "20000.00"})
    same_as_facts()

    # The German account moves to the Americas: the grouping follows at once from the facts, the rollup once
    # the next refresh (a deal's, here) has rebuilt it for the new assignments.
    german = Deal.objects.get(pk=b1).account_id
    assert german is not None
    Account.objects.filter(pk=german).update(country="US")
    services.territory_assign(actor=book.org.ops, model_id=model_id)
    moved = {"France SMB": "41000.00", "Americas": "20000.00"}
    assert not report_meta().territory_rollup and not board(moved)
    with CaptureQueriesContext(connection) as queries:
        refresh_deals([a1])
    # The sums of the account that moved go to its new territory; only A1's month (March) is rebuilt.
    assert _territory_months_rebuilt(queries) == [dt.date(2026, 3, 1)] and _territory_sums_moved(queries)
    assert _rollup_rows() == _rollup_built_whole()
    assert report_meta().territory_rollup and board(moved)
    same_as_facts()

    # No active model any more: no rollup, and the refresh empties it.
    services.territory_model_archive(actor=book.org.ops, model_id=model_id)
    assert not report_meta().territory_rollup
    refresh_changed()
    assert not report_meta().territory_rollup and not TerritoryMonth.objects.exists()


def report_active_model_id() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM planning_active_territory_model")
        return int(cursor.fetchone()[0])


def _territory_months_rebuilt(queries) -> list | None:
    """The months whose territory sums the captured refresh rebuilt (None: all of them, the rollup built whole).
    Sums moved from one territory to another are not rebuilt months (see `_territory_sums_moved`)."""
    import datetime as dt
    import re

    sqls = [q["sql"] for q in queries.captured_queries]
    if any(re.match(r"\s*DELETE FROM reporting_territorymonth\s*$", sql) for sql in sqls):
        return None
    months = []
    for sql in sqls:
        if "INSERT INTO reporting_territorymonth" in sql and "ON CONFLICT" not in sql:
            found = re.search(r"f\.close_date >= '(\d{4}-\d\d-\d\d)'", sql)
            assert found, sql
            months.append(dt.date.fromisoformat(found.group(1)))
    return sorted(months)


def _territory_sums_moved(queries) -> bool:
    """Whether the captured refresh moved accounts' sums between territories."""
    return any(
        "INSERT INTO reporting_territorymonth" in q["sql"] and "ON CONFLICT" in q["sql"]
        for q in queries.captured_queries
    )


def _rollup_rows() -> list[tuple]:
    from reporting.models import TerritoryMonth

    fields = ["month", "territory_id", "pipeline_id", "won_count", "lost_count", "won_amount", "cycle_days_sum",
              "cycle_count", "credited", "open_count", "open_amount", "weighted_amount"]  # fmt: skip
    return list(TerritoryMonth.objects.order_by("month", "territory_id", "pipeline_id").values_list(*fields))


def _rollup_built_whole() -> list[tuple]:
    """The rows the rollup has when built whole for the active model now (rolled back: nothing changes)."""
    from django.db import connection, transaction

    from reporting.refresh import RefreshState, _rebuild_territory_months

    class Undo(Exception):
        pass

    rows: list[tuple] = []
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            _rebuild_territory_months(cursor, RefreshState(territory_rollup_for=""), [])
            rows = _rollup_rows()
            raise Undo
    except Undo:
        pass
    return rows


def test_the_rollup_follows_new_assignments_by_the_months_of_the_accounts_that_moved(
    book, territories, api_client_for, django_capture_on_commit_callbacks, celery_eager
):
    """Once the rollup is built, the active model's assignments moving costs only the months of the accounts that
    moved: none for a new account without deals, an account's months when it changes territory; another model
    activated builds it whole. The scheduled assignment announces its change and the reports' refresh follows
    at once: the executive dashboard reads the rollup again, with the new numbers, without waiting for the
    sweep."""
    import datetime as dt

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from pipeline.models import Account
    from reporting.models import TerritoryBasis, TerritoryMonth
    from reporting.refresh import refresh_changed
    from reporting.selectors import report_meta

    client = api_client_for(book.org.ops)
    # The sweep reads deals updated a little before its last run again (for changes committing meanwhile): the
    # book's deals are dated long before, so that here it reads only what changed since it last ran.
    Deal.objects.update(updated_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))

    def board(expected: dict[str, str]) -> bool:
        with CaptureQueriesContext(connection) as queries:
            assert _by_territory(client) == expected
        return "reporting_territorymonth" in " ".join(q["sql"] for q in queries.captured_queries)

    with CaptureQueriesContext(connection) as queries:
        refresh_changed()
    assert _territory_months_rebuilt(queries) is None  # built whole the first time
    refresh_changed()  # reads the history's last ids again once (see test_digest_and_refresh), then only new ones
    first = {"France SMB": "40000.00", "EMEA": "20000.00", "Americas": "5000.00"}
    assert board(first)
    assert _basis() == _assigned() and len(_basis()) > 3
    sums = _rollup_rows()
    assert sums == _rollup_built_whole()

    # A new account without deals, placed by the scheduled assignment: the rollup is current again at once (the
    # announced refresh ran), and no month was rebuilt.
    lyon = AccountFactory.create(name="Lyon SAS", country="FR", employees=10)
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        result = services.territory_assign_active_scheduled()
    assert result is not None and result.added == 1
    assert _territory_months_rebuilt(queries) == []
    assert (lyon.pk, territories["smb"]) in _basis() and _basis() == _assigned()
    assert report_meta().territory_rollup and board(first)
    assert _rollup_rows() == sums

    # C2 (open, 10,000, April) moves to a new account no territory holds yet: its sums are in "No territory"
    # until the scheduled assignment places the account, and then move to France SMB.
    marseille = AccountFactory.create(name="Marseille SARL", country="FR", employees=15)
    c2 = book.deals["C2"].pk
    american = Deal.objects.get(pk=c2).account_id
    assert american is not None
    Deal.objects.filter(pk=c2).update(account=marseille)
    refresh_deals([c2])
    april = dt.date(2026, 4, 1)
    assert TerritoryMonth.objects.get(month=april, territory_id=None).open_amount == 10000
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        services.territory_assign_active_scheduled()
    assert _territory_months_rebuilt(queries) == [] and _territory_sums_moved(queries)
    assert not TerritoryMonth.objects.filter(month=april, territory_id=None).exists()
    assert TerritoryMonth.objects.get(month=april, territory_id=territories["smb"]).open_amount == 10000
    assert _rollup_rows() == _rollup_built_whole()
    Deal.objects.filter(pk=c2).update(account_id=american)
    refresh_deals([c2])

    # The American account becomes French: its sums (C1's and C2's) move to France SMB, announced and refreshed;
    # no month is rebuilt, and the rollup is what building it whole gives (Americas' rows are gone).
    Account.objects.filter(pk=american).update(country="FR", employees=20)
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        services.territory_assign_active_scheduled()
    assert _territory_months_rebuilt(queries) == [] and _territory_sums_moved(queries)
    assert report_meta().territory_rollup and board({"France SMB": "45000.00", "EMEA": "20000.00"})
    assert _rollup_rows() == _rollup_built_whole()
    assert not TerritoryMonth.objects.filter(territory_id=territories["americas"]).exists()
    assert (american, territories["smb"]) in _basis() and _basis() == _assigned()

    # Another model activated: built whole for it.
    copy = services.territory_model_copy(actor=book.org.ops, model_id=report_active_model_id(), name="Next year")
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        services.territory_model_activate(actor=book.org.ops, model_id=copy.pk)
    assert _territory_months_rebuilt(queries) is None
    assert report_meta().territory_rollup and board({"France SMB": "45000.00", "EMEA": "20000.00"})
    assert report_active_model_id() == copy.pk and _basis() == _assigned()

    # And archived: no rollup, no basis, announced and refreshed at once.
    with django_capture_on_commit_callbacks(execute=True):
        services.territory_model_archive(actor=book.org.ops, model_id=copy.pk)
    assert not TerritoryMonth.objects.exists() and not TerritoryBasis.objects.exists()


def _basis() -> set[tuple[int, int]]:
    from reporting.models import TerritoryBasis

    return set(TerritoryBasis.objects.values_list("account_id", "territory_id"))


def _assigned() -> set[tuple[int, int]]:
    """The active model's assignments, as planning publishes them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT account_id, territory_id FROM planning_account_territory")
        return set(cursor.fetchall())


def test_the_rollup_is_built_whole_when_too_much_moved_at_once(book, territories, monkeypatch):
    """More accounts moved than are worth moving one by one, or deals of more months changed than are worth
    rebuilding one by one (an import): the rollup is built whole, with the same rows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from pipeline.models import Account
    from reporting import refresh
    from reporting.refresh import refresh_changed

    refresh_changed()
    built = _rollup_rows()
    assert built == _rollup_built_whole()
    monkeypatch.setattr(refresh, "BASIS_MOVES_MAX", 0)
    german = Deal.objects.get(pk=book.deals["B1"].pk).account_id
    assert german is not None
    Account.objects.filter(pk=german).update(country="US")
    services.territory_assign_active_scheduled()
    with CaptureQueriesContext(connection) as queries:
        refresh_deals([])
    assert _territory_months_rebuilt(queries) is None and not _territory_sums_moved(queries)
    assert _rollup_rows() == _rollup_built_whole() != built
    assert _basis() == _assigned()

    monkeypatch.setattr(refresh, "TERRITORY_MONTHS_MAX", 1)
    deals = [book.deals["A1"].pk, book.deals["B3"].pk]  # February and March
    with CaptureQueriesContext(connection) as queries:
        refresh_deals(deals)
    assert _territory_months_rebuilt(queries) is None
    monkeypatch.setattr(refresh, "TERRITORY_MONTHS_MAX", 2)
    with CaptureQueriesContext(connection) as queries:
        refresh_deals(deals)
    assert _territory_months_rebuilt(queries) == [dt.date(2026, 2, 1), dt.date(2026, 3, 1)]
    assert _rollup_rows() == _rollup_built_whole()


def test_a_rollup_recorded_by_the_previous_release_is_built_again_with_its_copy(book, territories):
    """The release before kept no copy of the assignments: a rollup it recorded as current (its version has no
    "b") is not trusted, even by a deal's refresh, and is built again whole, with the copy."""
    from django.db import connection

    from reporting.models import RefreshState, TerritoryBasis
    from reporting.refresh import refresh_changed, territory_model_version
    from reporting.selectors import report_meta

    refresh_changed()
    with connection.cursor() as cursor:
        version = territory_model_version(cursor)
    assert version.startswith("b") and report_meta().territory_rollup
    TerritoryBasis.objects.all().delete()
    RefreshState.objects.update(territory_rollup_for=version[1:])
    assert not report_meta().territory_rollup
    refresh_deals([book.deals["A1"].pk])
    assert report_meta().territory_rollup and _basis() == _assigned()
    assert _rollup_rows() == _rollup_built_whole()
