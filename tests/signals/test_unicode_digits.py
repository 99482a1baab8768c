"""A query parameter or a file cell of Unicode digits that are not decimal ("²", "³"): str.isdigit() says yes and
int() refuses, so each check that used isdigit() answered 500 (pages, API) or broke an import. Each is now read as
no value / a row's error."""

from __future__ import annotations

from typing import Any

import pytest

from signals.engine import reconciliation as recon_engine
from signals.services import marketing as marketing_services

pytestmark = pytest.mark.django_db

ODD = "²"


@pytest.mark.parametrize(
    "url",
    [
        f"/signals/attribution/?year={ODD}",
        f"/signals/attribution/export/?year={ODD}",
        f"/signals/leads/response/?team={ODD}",
    ],
)
def test_pages_read_odd_digits_as_no_value(org: Any, client_for: Any, url: str) -> None:
    assert client_for(org.ops).get(url).status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/signals/attribution/?year={ODD}",
        f"/api/v1/signals/lead-response/?team={ODD}",
        f"/api/v1/activities/?deal={ODD}",
        f"/api/v1/signals/campaign-members/?campaign={ODD}",
        f"/api/v1/signals/campaign-touches/?deal={ODD}",
        f"/api/v1/signals/reconciliation-mismatches/?reconciliation={ODD}",
        "/api/v1/signals/reconciliation-mismatches/?reconciliation=99999999999999999999999",
        "/api/v1/signals/lead-response/?team=99999999999999999999999",
    ],
)
def test_the_api_reads_odd_digits_as_no_value(org: Any, api_client_for: Any, url: str) -> None:
    user = org.finance if "reconciliation" in url else org.ops
    assert api_client_for(user).get(url).status_code in (200, 400)


def test_an_invoice_lines_deal_number_of_odd_digits_is_a_rows_error() -> None:
    positions = recon_engine.column_positions(
        ["Invoice number", "Invoice date", "Amount", "Currency", "Account name", "Deal number"]
    )
    parsed = recon_engine.parse_row(2, ["INV-1", "2026-11-02", "100.00", "USD", "Acme", ODD], positions)
    assert isinstance(parsed, list) and any("not a whole number" in e.message for e in parsed)


def test_a_member_imports_campaign_of_odd_digits_is_a_rows_error(org: Any) -> None:
    content = f"Campaign,Email,Status,Responded\n{ODD},ann@example.com,sent,\n".encode()
    result = marketing_services.member_import(actor=org.ops, file_name="m.csv", content=content)
    assert not result.ok and "no campaign named or numbered" in result.errors[0].message
