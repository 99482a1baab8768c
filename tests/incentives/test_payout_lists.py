"""The payout register and team pay sort by their columns, filter by name (and on the register by region,
team or adjustments), and total exactly the rows they show."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from incentives import services
from incentives.models import Payout, Period
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


# ------------------------------------------------------------------------------------------------- the API
API = "/api/v1/incentives/payouts"


def names_of(body: dict) -> list[str]:
    return [row["person_name"] for row in body["results"]]


def test_the_payouts_api_filters_and_sorts_as_team_pay(client_for, api_client_for, register):
    """The same FilterSet as the pages: a name, a region, a team, only adjusted, a column to sort by."""
    mia = api_client_for(register["mia"])
    body = mia.get(f"{API}/", {"period": "2025-Q1"}).json()
    assert names_of(body) == ["Mia Park", "Ann Lee", "Bob Stone"]  # the API's own order: period, then person
    body = mia.get(f"{API}/", {"period": "2025-Q1", "q": "stone"}).json()
    assert [(p["person_name"], p["total"]) for p in body["results"]] == [("Bob Stone", "3479.50")]
    assert names_of(mia.get(f"{API}/", {"q": "stone"}).json()) == ["Bob Stone", "Bob Stone"]  # both quarters
    body = mia.get(f"{API}/", {"period": "2025-Q1", "ordering": "-total"}).json()
    assert names_of(body) == ["Ann Lee", "Mia Park", "Bob Stone"]  # 20,150 · 4,200 · 3,479.50, as the page
    page = get(client_for(register["mia"]), "incentives:team", period="2025-Q1", ordering="-total")
    assert rows_of(page, "team-payouts") == names_of(body)
    body = mia.get(f"{API}/", {"period": "2025-Q1", "region": register["west"].pk, "ordering": "-name"}).json()
    assert names_of(body) == ["Bob Stone", "Mia Park"]
    assert names_of(mia.get(f"{API}/", {"adjusted": "true"}).json()) == ["Bob Stone"]
    body = mia.get(f"{API}/", {"period": "2025-Q1", "adjusted": "false"}).json()
    assert names_of(body) == ["Mia Park", "Ann Lee"]
    # Off the allow-list, an unknown region: refused naming the parameter (the page ignores them).
    for query, field in ((("ordering", "person__password"), "ordering"), (("region", "987654"), "region")):
        response = mia.get(f"{API}/", dict([query]))
        assert response.status_code == 400 and field in response.json(), response.content
    # A rep filters only their own rows; someone else's name finds nothing.
    ann = api_client_for(register["ann"])
    assert names_of(ann.get(f"{API}/", {"q": "stone"}).json()) == []
    assert names_of(ann.get(f"{API}/", {"period": "2025-Q1", "q": "lee"}).json()) == ["Ann Lee"]


def test_the_payouts_api_totals_the_rows_team_pay_shows(client_for, api_client_for, register):
    mia, url = api_client_for(register["mia"]), f"{API}/totals/"
    body = mia.get(url, {"period": "2025-Q1"}).json()
    assert body["period"]["label"] == "2025-Q1"
    assert body["totals"] == {
        "earned": "27950.00", "adjustments": "-120.50", "payout": "27950.00", "total": "27829.50", "people": 3,
        "quota": "400000.00", "credited": "420000.00", "attainment": "1.0500", "draw": "0.00",
    }  # fmt: skip
    page = get(client_for(register["mia"]), "incentives:team", period="2025-Q1")
    assert cell(page, "rows-total") == "27,829.50" and cell(page, "rows-people") == "3"
    # Filtered as the list and the page are: exactly the rows kept.
    totals = mia.get(url, {"period": "2025-Q1", "q": "stone"}).json()["totals"]
    assert (totals["people"], totals["total"], totals["quota"], totals["adjustments"]) == (
        1, "3479.50", "100000.00", "-120.50"
    )  # fmt: skip
    page = get(client_for(register["mia"]), "incentives:team", period="2025-Q1", q="stone")
    assert cell(page, "rows-total") == "3,479.50"
    totals = mia.get(url, {"period": "2025-Q1", "region": register["west"].pk}).json()["totals"]
    assert (totals["people"], totals["total"]) == (2, "7679.50")
    totals = mia.get(url, {"period": "2025-Q1", "q": "nobody"}).json()["totals"]
    assert (totals["people"], totals["total"], totals["attainment"]) == (0, "0.00", None)
    # A manager totals their subtree only: another manager's team adds nothing of Mia's.
    other = UserFactory.create(username="max", is_rep=False, is_manager=True)
    totals = api_client_for(other).get(url, {"period": "2025-Q1"}).json()["totals"]
    assert (totals["people"], totals["total"]) == (0, "0.00")
    finance = api_client_for(register["finance"]).get(url, {"period": "2025-Q1"}).json()
    assert finance["totals"]["total"] == "27829.50"
    # Team pay is for managers, finance and sales ops: a rep is refused, as on the page.
    assert api_client_for(register["ann"]).get(url, {"period": "2025-Q1"}).status_code == 403
    assert client_for(register["ann"]).get(reverse("incentives:team")).status_code == 403
    assert mia.get(url).status_code == 400 and "period" in mia.get(url).json()
    assert mia.get(url, {"period": "1999-Q1"}).status_code == 404


def test_totals_of_billion_sized_quotas_are_answered(api_client_for, register):
    """A column holds 14 digits; a total over people holds more (quotas in IDR or KRW): two quotas of
    999,999,999,999.99 and Mia's add up past a trillion, answered on the API as on the page (it was a 500)."""
    rows = Payout.objects.filter(period__label="2025-Q1")
    rows.filter(person__in=[register["ann"], register["bob"]]).update(quota=Decimal("999999999999.99"))
    mia = rows.get(person=register["mia"]).quota
    body = api_client_for(register["finance"]).get(f"{API}/totals/", {"period": "2025-Q1"})
    assert body.status_code == 200, body.content
    assert Decimal(body.json()["totals"]["quota"]) == Decimal("1999999999999.98") + mia
