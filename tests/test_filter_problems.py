"""A filter in a page's address that does not validate selects nothing and says so; an export refuses to write a
file. django-filter dropped such a filter and filtered by the others: `?account=12.0` on the deal list listed (and
exported) every deal the viewer may see, as if no account had been asked for."""

from __future__ import annotations

import warnings
from decimal import Decimal

import pytest
from django.core.paginator import UnorderedObjectListWarning
from django.urls import reverse

from tests.factories import AccountFactory, DealFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_accounts(org):
    acme, globex = AccountFactory.create(name="Acme"), AccountFactory.create(name="Globex")
    DealFactory.create(name="Acme renewal", owner=org.rep_a, account=acme, amount=Decimal("1000.00"))
    DealFactory.create(name="Globex expansion", owner=org.rep_a, account=globex, amount=Decimal("2000.00"))
    return acme, globex


def test_the_deal_list_with_an_id_that_is_no_id_lists_nothing_and_says_why(org, two_accounts, client_for):
    acme, _ = two_accounts
    client = client_for(org.ops)
    fine = client.get(reverse("pipeline:deal_list"), {"account": acme.pk}).content.decode()
    assert "Acme renewal" in fine and "Globex expansion" not in fine and 'data-testid="filter-problems"' not in fine
    page = client.get(reverse("pipeline:deal_list"), {"account": f"{acme.pk}.0"}).content.decode()
    assert "Acme renewal" not in page and "Globex expansion" not in page
    problems = page.split('data-testid="filter-problems"')[1].split("</div>")[0]
    assert "Nothing is listed: a filter in the address is not valid." in problems
    assert f"account: &#x27;{acme.pk}.0&#x27; is not an id (whole digits, e.g. ?account=12)." in problems


def test_an_export_with_an_invalid_filter_writes_no_file_and_names_the_filter(org, two_accounts, client_for):
    acme, _ = two_accounts
    response = client_for(org.ops).get(reverse("pipeline:deal_list"), {"account": f"{acme.pk}.0", "export": "csv"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == (
        f"Nothing was exported: account: '{acme.pk}.0' is not an id (whole digits, e.g. ?account=12)."
    )


def test_an_owner_out_of_the_managers_scope_lists_nothing_not_every_deal(org, client_for):
    """A manager's own team's deals stay theirs to see; naming another team's rep was dropped, and the list showed
    the whole team's deals as if they were that rep's."""
    DealFactory.create(name="East deal", owner=org.rep_a)
    DealFactory.create(name="West deal", owner=org.rep_c)
    page = client_for(org.manager_east).get(reverse("pipeline:deal_list"), {"owner": org.rep_c.pk}).content.decode()
    assert "East deal" not in page and "West deal" not in page
    assert "Owner: Select a valid choice." in page.split('data-testid="filter-problems"')[1].split("</div>")[0]
    board = client_for(org.manager_east).get(reverse("pipeline:board"), {"owner": org.rep_c.pk}).content.decode()
    assert "East deal" not in board and 'data-testid="filter-problems"' in board


def test_the_people_list_and_its_export_refuse_a_manager_that_is_no_id(org, client_for):
    client = client_for(org.ops)
    page = client.get(reverse("org:person_list"), {"manager": "east"}).content.decode()
    assert org.rep_a.display_name not in page
    assert "manager: &#x27;east&#x27; is not an id" in page
    exported = client.get(reverse("org:person_list"), {"manager": "east", "export": "xlsx"})
    assert exported.status_code == 400
    assert exported.content.decode().startswith("Nothing was exported: manager: 'east' is not an id")
    listed = client.get(reverse("org:person_list"), {"manager": org.manager_east.pk}).content.decode()
    assert org.rep_a.display_name in listed and org.rep_c.display_name not in listed


def test_a_lead_status_off_the_list_lists_nothing_but_a_sort_off_the_list_is_only_ignored(
    org, two_accounts, client_for
):
    client = client_for(org.ops)
    leads = client.get(reverse("pipeline:lead_list"), {"status": "won"}).content.decode()
    assert "Status: Select a valid choice. won is not one of the available choices." in leads
    # The sort picks no rows: the same accounts, in the list's own order (by name; an ignored sort left them in no
    # order, and its pages could repeat a row), and no complaint.
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnorderedObjectListWarning)
        accounts = client.get(reverse("pipeline:account_list"), {"ordering": "secret"}).content.decode()
    assert 'data-testid="filter-problems"' not in accounts
    assert accounts.index("Acme") < accounts.index("Globex")
