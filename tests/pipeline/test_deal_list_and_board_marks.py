"""The deal list opens on the open deals by close date, sorts by its headers and totals the filtered rows;
the board marks overdue and stale cards and weights each column (amount × probability)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from freezegun import freeze_time

# Heavy modules first (every view, pandas behind the forecast pages): freezegun then patches only the clock.
import salesops.urls  # noqa: F401
from pipeline import services
from tests.factories import DealFactory, default_stages

pytestmark = pytest.mark.django_db


@pytest.fixture
def deals(org):
    """rep_a's deals: three open (one with its own probability, one past its close date), one won, one lost."""
    stages = default_stages()
    with freeze_time("2027-03-10 09:00"):
        return {
            "later": DealFactory.create(name="Later", owner=org.rep_a, amount=Decimal("1000.00"),
                                        close_date=dt.date(2027, 4, 1)),  # Prospecting 10 % → 100
            "soon": DealFactory.create(name="Soon", owner=org.rep_a, amount=Decimal("2500.00"),
                                       stage=stages["Discovery"], close_date=dt.date(2027, 3, 20)),  # 40 % → 1,000
            "late": DealFactory.create(name="Late", owner=org.rep_a, amount=Decimal("333.33"), probability=Decimal(33),
                                       close_date=dt.date(2027, 3, 1)),  # own 33 % → 109.9989
            "won": DealFactory.create(name="Wonder", owner=org.rep_a, stage=stages["Closed Won"],
                                      close_date=dt.date(2027, 3, 2)),
            "lost": DealFactory.create(name="Lostling", owner=org.rep_a, stage=stages["Closed Lost"],
                                       close_date=dt.date(2027, 3, 3)),
        }  # fmt: skip


NAMES = ("Later", "Soon", "Late", "Wonder", "Lostling")


def listed(html: str) -> list[str]:
    table = html.split('data-testid="deal-table"')[1].split("</tbody>")[0]
    return [name for name in re.findall(r'/">([A-Za-z]+)</a></td>', table) if name in NAMES]


def cell(html: str, testid: str) -> str:
    return html.split(f'data-testid="{testid}">')[1].split("<")[0]


def test_the_list_opens_on_open_deals_by_close_date_with_a_way_to_all(client_for, org, deals):
    client = client_for(org.rep_a)
    html = client.get(reverse("pipeline:deal_list")).content.decode()
    assert listed(html) == ["Late", "Soon", "Later"]
    assert '<option value="open" selected>' in html  # the status filter says so
    assert re.search(r'<a href="\?status=" class="" data-testid="status-all">All</a>', html)
    assert 'aria-current="true" data-testid="status-open"' in html
    html = client.get(reverse("pipeline:deal_list"), {"status": ""}).content.decode()
    assert sorted(listed(html)) == sorted(NAMES)
    html = client.get(reverse("pipeline:deal_list"), {"status": "won"}).content.decode()
    assert listed(html) == ["Wonder"] and 'aria-current="true" data-testid="status-won"' in html
    # The export follows the page: its link carries the status the page shows.
    html = client_for(org.manager_east).get(reverse("pipeline:deal_list")).content.decode()
    assert 'href="?status=open&export=csv"' in html


def test_totals_are_the_filtered_rows_not_the_page(client_for, org, deals):
    client = client_for(org.rep_a)
    html = client.get(reverse("pipeline:deal_list")).content.decode()
    assert "Total of the 3 deals filtered" in html
    assert cell(html, "total-amount") == "3,833.33"  # 1,000 + 2,500 + 333.33
    assert cell(html, "total-weighted") == "1,210.00"  # 100 + 1,000 + 109.9989, to the cent
    html = client.get(reverse("pipeline:deal_list"), {"q": "soon"}).content.decode()
    assert cell(html, "total-amount") == "2,500.00" and cell(html, "total-weighted") == "1,000.00"
    for n in range(11):
        DealFactory.create(name=f"Bulk {n}", owner=org.rep_a, amount=Decimal("100.00"))
    html = client.get(reverse("pipeline:deal_list"), {"per_page": 10}).content.decode()
    assert "Total of the 14 deals filtered" in html and "page 1 of 2" in html
    assert cell(html, "total-amount") == "4,933.33" and cell(html, "total-weighted") == "1,320.00"


def test_headers_sort_and_show_the_current_order(client_for, org, deals):
    client = client_for(org.rep_a)
    html = client.get(reverse("pipeline:deal_list"), {"ordering": "-amount"}).content.decode()
    assert listed(html) == ["Soon", "Later", "Late"]
    assert re.search(r'aria-sort="descending"><a href="\?status=open&amp;ordering=amount"[^>]*>Amount ▼</a>', html)
    html = client.get(reverse("pipeline:deal_list"), {"ordering": "name", "status": ""}).content.decode()
    assert listed(html) == ["Late", "Later", "Lostling", "Soon", "Wonder"]
    assert "Deal ▲</a>" in html


def test_board_marks_overdue_and_stale_cards_and_weights_each_column(client_for, org, deals):
    stages = default_stages()
    with freeze_time("2027-01-20 09:00"):  # untouched since: stale by 10 March
        quiet = DealFactory.create(name="Quiet", owner=org.rep_a, amount=Decimal("800.00"), stage=stages["Discovery"],
                                   close_date=dt.date(2027, 5, 1))  # fmt: skip
    with freeze_time("2027-01-20 09:00"):
        lively = DealFactory.create(name="Lively", owner=org.rep_a, amount=Decimal("50.00"),
                                    close_date=dt.date(2027, 5, 1))  # fmt: skip
    with freeze_time("2027-03-05 09:00"):
        services.activity_create(actor=org.rep_a, deal=lively, kind="call", subject="Check-in")
    client = client_for(org.rep_a)
    with freeze_time("2027-03-10 12:00"):
        client.force_login(org.rep_a)  # a session of that day
        html = client.get(reverse("pipeline:board")).content.decode()

    def card(deal) -> str:
        return (
            html.split(f'data-testid="card-{deal.pk}"')[0].rsplit("<article", 1)[1]
            + html.split(f'data-testid="card-{deal.pk}"')[1].split("</article>")[0]
        )

    assert "mark-overdue" in card(deals["late"]) and "mark-stale" not in card(deals["late"])
    assert "mark-stale" in card(quiet) and "mark-overdue" not in card(quiet)
    assert "mark-" not in card(lively) and "mark-" not in card(deals["soon"])
    assert "mark-" not in card(deals["lost"])  # a closed deal is neither

    def column(slug: str) -> str:
        return html.split(f'data-testid="column-{slug}"')[1].split("</header>")[0]

    prospecting = column("prospecting")  # Later 1,000 × 10 %, Late 333.33 × 33 %, Lively 50 × 10 %
    assert re.search(r'data-testid="count">3<.*data-testid="amount">1,383<', prospecting)
    assert 'data-testid="weighted">215 weighted<' in prospecting  # 100 + 110.00 + 5
    discovery = column("discovery")  # Soon 2,500 and Quiet 800 at 40 %
    assert 'data-testid="amount">3,300<' in discovery and 'data-testid="weighted">1,320 weighted<' in discovery
    assert 'data-testid="jump-closed-won"' in html and 'id="stage-' in html
