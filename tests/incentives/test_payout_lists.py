"""The payout register and team pay sort by their columns, filter by name (and on the register by region,
team or adjustments), and total exactly the rows they show."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from incentives import services
from incentives.models import Period
from incentives.recompute import commission_recompute
from tests.factories import RegionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def register(example):
    """incentives.md's example for 2025-Q1 (Ann 20,150, Bob 3,600, Mia 4,200), named, placed in regions,
    and Bob's payout adjusted by −120.50."""
    commission_recompute()
    east, west = RegionFactory.create(name="East"), RegionFactory.create(name="West")
    for key, first, last, region, employee in (("ann", "Ann", "Lee", east, "E1"), ("bob", "Bob", "Stone", west, "E2"),
                                               ("mia", "Mia", "Park", west, "E3")):  # fmt: skip
        person = example[key]
        person.first_name, person.last_name, person.region, person.employee_id = first, last, region, employee
        person.save()
    finance = UserFactory.create(username="fin1", is_rep=False, is_finance=True)
    services.adjustment_create(actor=finance, person=example["bob"], period=Period.objects.get(label="2025-Q1"),
                               amount="-120.50", reason="Returned hardware")  # fmt: skip
    return {**example, "finance": finance, "east": east, "west": west}


def rows_of(html: str, table: str) -> list[str]:
    """The names in the table's body, top to bottom."""
    body = html.split(f'data-testid="{table}"')[1].split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(r">((?:Ann Lee|Bob Stone|Mia Park))<", body)


def cell(html: str, testid: str) -> str:
    return html.split(f'data-testid="{testid}">')[1].split("<")[0]


def get(client, name: str, **query: str) -> str:
    response = client.get(reverse(name), query)
    assert response.status_code == 200
    return response.content.decode()


def test_register_totals_match_the_filtered_rows(client_for, register):
    client = client_for(register["finance"])
    html = get(client, "incentives:register", period="2025-Q1")
    assert rows_of(html, "register") == ["Ann Lee", "Mia Park", "Bob Stone"]  # by last name
    assert cell(html, "rows-people") == "3" and cell(html, "rows-total") == "27,829.50"  # 27,950 − 120.50
    assert cell(html, "rows-adjustments") == "-120.50" and cell(html, "rows-quota") == "400,000.00"

    html = get(client, "incentives:register", period="2025-Q1", q="lee")
    assert rows_of(html, "register") == ["Ann Lee"]
    assert cell(html, "rows-total") == "20,150.00" and cell(html, "rows-quota") == "100,000.00"
    assert cell(html, "register-total") == "27,829.50"  # the head stays the whole period's: what locking pays

    html = get(client, "incentives:register", period="2025-Q1", region=str(register["west"].pk))
    assert rows_of(html, "register") == ["Mia Park", "Bob Stone"]
    assert cell(html, "rows-people") == "2" and cell(html, "rows-total") == "7,679.50"  # 3,479.50 + 4,200

    html = get(client, "incentives:register", period="2025-Q1", adjusted="true")
    assert rows_of(html, "register") == ["Bob Stone"]
    assert cell(html, "rows-adjustments") == "-120.50" and cell(html, "rows-total") == "3,479.50"

    html = get(client, "incentives:register", period="2025-Q1", q="nobody")
    assert rows_of(html, "register") == [] and "No payouts match the filter" in html


def test_register_sorts_by_an_allowed_column_and_marks_it(client_for, register):
    client = client_for(register["finance"])
    html = get(client, "incentives:register", period="2025-Q1", ordering="-total")
    assert rows_of(html, "register") == ["Ann Lee", "Mia Park", "Bob Stone"]  # 20,150 · 4,200 · 3,479.50
    assert re.search(r'aria-sort="descending"><a href="\?period=2025-Q1&amp;ordering=total"[^>]*>Payout ▼<', html)
    html = get(client, "incentives:register", period="2025-Q1", ordering="total")
    assert rows_of(html, "register") == ["Bob Stone", "Mia Park", "Ann Lee"]
    assert "Payout ▲<" in html
    html = get(client, "incentives:register", period="2025-Q1", ordering="-name", region=str(register["west"].pk))
    assert rows_of(html, "register") == ["Bob Stone", "Mia Park"]
    assert 'href="?period=2025-Q1&amp;region=' in html  # a header's link keeps the filter
    # Anything off the allow-list is ignored: the register's own order.
    html = get(client, "incentives:register", period="2025-Q1", ordering="person__password")
    assert rows_of(html, "register") == ["Ann Lee", "Mia Park", "Bob Stone"]


def test_payroll_file_keeps_the_whole_period_whatever_the_filter(client_for, register):
    client = client_for(register["finance"])
    response = client.get(reverse("incentives:register"), {"period": "2025-Q1", "q": "lee", "export": "csv"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert sum(Decimal(line.split(",")[6]) for line in body.splitlines()[1:]) == Decimal("27829.50")


def test_team_pay_sorts_filters_and_totals(client_for, register):
    client = client_for(register["mia"])
    html = get(client, "incentives:team", period="2025-Q1")
    assert rows_of(html, "team-payouts") == ["Ann Lee", "Mia Park", "Bob Stone"]
    assert cell(html, "rows-people") == "3" and cell(html, "rows-total") == "27,829.50"
    html = get(client, "incentives:team", period="2025-Q1", ordering="-earned")
    assert rows_of(html, "team-payouts")[0] == "Ann Lee" and "Earned ▼<" in html
    html = get(client, "incentives:team", period="2025-Q1", q="stone")
    assert rows_of(html, "team-payouts") == ["Bob Stone"]
    assert cell(html, "rows-people") == "1" and cell(html, "rows-total") == "3,479.50"
    assert cell(html, "rows-quota") == "100,000.00"
    html = get(client, "incentives:team", period="2025-Q1", q="nobody")
    assert "No one matches the search" in html
