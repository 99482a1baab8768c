"""Win/loss on hand-counted deals (docs/signals-winloss.md), its scopes (roles.md: a rep their own deals, a manager
the subtree, finance and sales ops everyone), the product-gap export (CSV and XLSX; a rep: 403) and the API.

Clock: 10 Nov 2026. Period: fiscal year 2026 (January to December). Closed in October 2026:

    deal  owner  status  amount  reason       competitor  source  type        account (employees)  gap
    W1    rep_a  won     10,000                           Web     new         Small (50)
    L1    rep_a  lost     4,000  Price        Acme        Web     new         Mid (500)            SSO
    L2    rep_a  lost     6,000  Feature gap              Event   expansion   Big (5,000)          "sso " (= SSO)
    W2    rep_b  won     20,000                           Event   renewal     Big (5,000)
    L3    rep_b  lost     1,000  Price        Acme        Web     new         none                 Offline mode
    L4    rep_c  lost     2,500  (none)       Beta        (none)  new         Unsized (no count)
    W3    rep_c  won      5,000                           Web     new         Mid (500)
and, not counted: a deal lost in 2024 and an open one.

Everyone: won 3 (35,000), lost 4 (13,500), win rate 3 / 7 = 42.9 %. By reason: Price 2 (5,000), Feature gap 1
(6,000), No reason given 1 (2,500): 4 = the lost total. Gaps: SSO 2 deals (10,000), Offline mode 1 (1,000).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from freezegun import freeze_time

from pipeline import services
from tests.factories import AccountFactory, DealFactory, default_stages

pytestmark = pytest.mark.django_db

TODAY = dt.datetime(2026, 11, 10, 12, 0, tzinfo=dt.UTC)
OCT = dt.date(2026, 10, 15)


@pytest.fixture
def deals(org):
    services.lost_reasons()
    st = default_stages()
    small = AccountFactory.create(name="Small Co", employees=50, sector="Retail")
    mid = AccountFactory.create(name="Mid Co", employees=500, sector="Finance")
    big = AccountFactory.create(name="Big Co", employees=5000, sector="Finance")
    unsized = AccountFactory.create(name="Unsized Co", employees=None, sector="")
    won, lost = st["Closed Won"], st["Closed Lost"]

    def deal(name, owner, stage, amount, account, source, deal_type="new", close=OCT, **lost_values):
        return DealFactory.create(name=name, owner=owner, stage=stage, amount=Decimal(amount), account=account,
                                  source=source, deal_type=deal_type, close_date=close, **lost_values)  # fmt: skip

    # fmt: off
    return {
        "W1": deal("W1", org.rep_a, won, "10000", small, "Web"),
        "L1": deal("L1", org.rep_a, lost, "4000", mid, "Web", lost_reason="Price", lost_competitor="Acme",
                   product_gap="SSO"),
        "L2": deal("L2", org.rep_a, lost, "6000", big, "Event", "expansion", lost_reason="Feature gap",
                   product_gap="sso "),
        "W2": deal("W2", org.rep_b, won, "20000", big, "Event", "renewal"),
        "L3": deal("L3", org.rep_b, lost, "1000", None, "Web", lost_reason="Price", lost_competitor="Acme",
                   product_gap="Offline mode"),
        "L4": deal("L4", org.rep_c, lost, "2500", unsized, "", lost_competitor="Beta"),
        "W3": deal("W3", org.rep_c, won, "5000", mid, "Web"),
        "old": deal("old", org.rep_a, lost, "9999", small, "Web", close=dt.date(2024, 3, 1), lost_reason="Price",
                    product_gap="SSO"),
        "open": deal("open", org.rep_a, st["Proposal"], "7777", small, "Web", close=dt.date(2026, 12, 1)),
    }
    # fmt: on


def get(client, name="signals:winloss", headers=None, **query):
    url = reverse(name)  # the URLconf loads before the clock is frozen
    with freeze_time(TODAY):
        return client.get(url, {"period": "FY2026", **query}, headers=headers)


def table(response) -> dict[str, tuple[int, int, Decimal, Decimal, str]]:
    return {r["row"].label: (r["row"].won, r["row"].lost, r["row"].won_amount, r["row"].lost_amount, r["rate"])
            for r in response.context["rows"]}  # fmt: skip


def test_by_reason_counts_lost_deals_only_and_sum_to_the_lost_total(client_for, org, deals) -> None:
    response = get(client_for(org.ops), by="reason")
    total = response.context["report"].total
    assert (total.won, total.lost, total.won_amount, total.lost_amount) == (3, 4, Decimal(35000), Decimal(13500))
    assert response.context["total_rate"] == "42.9 %"
    rows = table(response)
    assert rows == {
        "Price": (0, 2, Decimal(0), Decimal(5000), "—"),
        "Feature gap": (0, 1, Decimal(0), Decimal(6000), "—"),
        "No reason given": (0, 1, Decimal(0), Decimal(2500), "—"),
    }
    assert sum(r[1] for r in rows.values()) == total.lost
    assert sum(r[3] for r in rows.values()) == total.lost_amount


def test_by_competitor_source_type_segment_industry_and_rep(client_for, org, deals) -> None:
    client = client_for(org.ops)
    assert {k: v[1] for k, v in table(get(client, by="competitor")).items()} == {
        "Acme": 2, "No competitor named": 1, "Beta": 1}  # fmt: skip
    assert table(get(client, by="source")) == {
        "Web": (2, 2, Decimal(15000), Decimal(5000), "50.0 %"),
        "Event": (1, 1, Decimal(20000), Decimal(6000), "50.0 %"),
        "No source": (0, 1, Decimal(0), Decimal(2500), "0.0 %"),
    }
    assert {k: v[:2] for k, v in table(get(client, by="deal_type")).items()} == {
        "New business": (2, 3), "Expansion": (0, 1), "Renewal": (1, 0)}  # fmt: skip
    assert {k: v[:2] for k, v in table(get(client, by="segment")).items()} == {
        "Small business (under 100)": (1, 0), "Mid-market (100–999)": (1, 1), "Enterprise (1,000+)": (1, 1),
        "Size unknown": (0, 2)}  # fmt: skip
    assert {k: v[:2] for k, v in table(get(client, by="industry")).items()} == {
        "Finance": (2, 2), "Retail": (1, 0), "Industry unknown": (0, 2)}  # fmt: skip
    reps = table(get(client, by="rep"))
    assert reps[org.rep_a.display_name][:2] == (1, 2) and reps[org.rep_c.display_name][4] == "50.0 %"
    body = get(client, by="source").content.decode()
    assert 'data-testid="winloss-chart"' in body and "35,000" in body


def test_a_rep_sees_their_own_deals_and_a_manager_the_subtree(client_for, org, deals) -> None:
    mine = get(client_for(org.rep_a), by="reason").context["report"].total
    assert (mine.won, mine.lost) == (1, 2)
    team = get(client_for(org.manager_east), by="rep")
    assert (team.context["report"].total.won, team.context["report"].total.lost) == (2, 3)
    assert set(table(team)) == {org.rep_a.display_name, org.rep_b.display_name}
    west = get(client_for(org.manager_west), by="reason").context["gaps"]
    assert west.gaps == [] and west.lost_total == 1


def test_product_gaps_on_the_page_and_in_the_exports(client_for, org, deals) -> None:
    gaps = get(client_for(org.ops)).context["gaps"]
    assert [(g.gap, g.lost_deals, g.lost_amount) for g in gaps.gaps] == [
        ("SSO", 2, Decimal(10000)), ("Offline mode", 1, Decimal(1000))]  # fmt: skip
    assert (gaps.with_gap, gaps.lost_total) == (3, 4)
    response = get(client_for(org.finance), "signals:winloss_product_gaps", format="csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows == [["Product gap", "Lost deals", "Lost amount"], ["SSO", "2", "10000.00"],
                    ["Offline mode", "1", "1000.00"]]  # fmt: skip
    book = get(client_for(org.manager_east), "signals:winloss_product_gaps", format="xlsx")
    assert book["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = openpyxl.load_workbook(io.BytesIO(book.content))
    assert workbook.sheetnames == ["Product gaps", "Lost deals"]
    summary = list(workbook["Product gaps"].values)
    assert summary[1][:2] == ("SSO", 2) and Decimal(str(summary[1][2])) == Decimal(10000)
    deal_rows = list(workbook["Lost deals"].values)
    assert deal_rows[0][:2] == ("Deal id", "Deal")
    assert sorted(r[1] for r in deal_rows[1:]) == ["L1", "L2", "L3"]  # manager_east's subtree, the period only
    # Money reads as money in a spreadsheet, like every other export's: "10,000.00", not "10000".
    amounts = [row[2] for row in workbook["Product gaps"].iter_rows(min_row=2)]
    amounts += [row[5] for row in workbook["Lost deals"].iter_rows(min_row=2)]
    assert {(cell.data_type, cell.number_format) for cell in amounts} == {("n", "#,##0.00")}


def test_the_export_is_refused_to_a_rep(client_for, org, deals) -> None:
    client = client_for(org.rep_a)
    assert get(client, "signals:winloss_product_gaps", format="csv").status_code == 403
    assert 'data-testid="gap-export-csv"' not in get(client).content.decode()


def test_htmx_gets_the_fragment(client_for, org, deals) -> None:
    response = get(client_for(org.ops), headers={"HX-Request": "true"}, by="segment")
    assert response.templates[0].name == "signals/winloss/partials/report.html"


def test_api(api_client_for, org, deals) -> None:
    reverse("signals:winloss")
    with freeze_time(TODAY):
        data = api_client_for(org.ops).get("/api/v1/signals/winloss/", {"period": "FY2026", "by": "reason"}).json()
        mine = api_client_for(org.rep_a).get("/api/v1/signals/winloss/", {"period": "FY2026", "by": "source"}).json()
        refused = api_client_for(org.rep_a).get("/api/v1/signals/product-gaps/", {"period": "FY2026"})
        gaps = api_client_for(org.manager_west).get("/api/v1/signals/product-gaps/", {"period": "FY2026"}).json()
    assert data["total"]["lost"] == 4 and sum(r["lost"] for r in data["rows"]) == 4
    assert data["total"]["win_rate"] == "0.4286"
    assert mine["total"]["won"] == 1 and mine["total"]["lost"] == 2
    assert refused.status_code == 403
    assert gaps["lost_deals"] == 1 and gaps["gaps"] == []


def test_the_footnote_says_what_each_dimension_is(client_for, org, deals) -> None:
    """Not "Competitor is what a lost deal says about why" (a competitor is who won it; a source, a segment or a
    rep is no answer of a lost deal at all): each table's footnote names what its values are."""
    from django.utils.html import escape

    client = client_for(org.ops)

    def note(by: str) -> str:
        body = get(client, by=by).content.decode()
        start = body.index('data-testid="winloss-note">') + len('data-testid="winloss-note">')
        return body[start : body.index("</p>", start)]

    assert "says about why" not in note("competitor") and "who won the deal" in note("competitor")
    assert escape("under “No competitor named”") in note("competitor")
    assert "reason picked from sales ops' list".replace("'", "&#x27;") in note("reason")
    for by, words in {"source": "where the deal came from", "deal_type": "as set on the deal",
                      "segment": "size by employees", "industry": "sector of the deal&#x27;s account",
                      "rep": "the deal&#x27;s owner"}.items():  # fmt: skip
        assert words in note(by) and "Win rate: won ÷ (won + lost)" in note(by), by
    # a period whose lost deals name no competitor says so, and where it is asked
    assert "names a competitor" not in note("competitor")
    services.deal_update(actor=None, deal=deals["L1"], lost_competitor="")
    services.deal_update(actor=None, deal=deals["L3"], lost_competitor="")
    services.deal_update(actor=None, deal=deals["L4"], lost_competitor="")
    assert "No lost deal of this period names a competitor" in note("competitor")
