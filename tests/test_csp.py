"""Content-Security-Policy (hardening, part 6): every HTML answer carries the strict policy with a nonce made for
it, and an htmx request refused with 400, 403 or 404 gets a message fragment rather than a whole page to swap into
its target. That no page or fragment any role reaches has an inline event handler, a `javascript:` address, a
style attribute, or an inline script or style without its nonce is checked by the crawl (tests/test_crawl.py)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import pytest

from salesops.charts import to_html
from tests.csp_policy import POLICY, problems_in

pytestmark = pytest.mark.django_db


def nonce_of(response: Any) -> str:
    policy = response.headers.get("Content-Security-Policy", "")
    match = POLICY.match(policy)
    assert match, f"not the policy: {policy!r}"
    return match["nonce"]


# ------------------------------------------------------------------------------------------------ the header
def test_an_html_page_carries_the_policy_with_a_fresh_nonce_its_scripts_carry(org, client_for):
    client = client_for(org.manager_east)
    first, second = client.get("/"), client.get("/")
    assert first.status_code == second.status_code == 200
    nonce = nonce_of(first)
    assert nonce != nonce_of(second)
    html = first.content.decode()
    assert f'nonce="{nonce}"' in html  # {% htmx_script %} reads csp_nonce from the context processor
    assert problems_in(html, nonce, fragment=False) == []


def test_json_carries_no_policy(org, client_for):
    api = client_for(org.rep_a).get("/api/v1/deals/")
    assert api.status_code == 200 and "Content-Security-Policy" not in api.headers


def test_error_pages_carry_the_policy_too(org, client_for):
    client = client_for(org.rep_a)
    assert nonce_of(client.get("/no/such/page/"))
    assert nonce_of(client.get("/forecasting/", {"period": "\x00"}))


def test_the_problems_check_finds_what_the_policy_refuses():
    nonce = "n" * 22
    page = (
        '<button onclick="x()">a</button><a href=" JavaScript:history.back()">b</a><p style="color:red">c</p>'
        f'<script>1</script><script nonce="{nonce}">2</script><script src="/s.js"></script>'
        '<script type="application/json">{}</script><style>p{}</style>'
    )
    found = problems_in(page, nonce, fragment=False)
    assert len(found) == 5, found
    assert len(problems_in(f'<script nonce="{nonce}">2</script>', nonce, fragment=True)) == 1


def test_a_chart_is_data_that_cannot_close_its_script_element():
    fig = go.Figure(go.Bar(x=["</script><script>alert(1)</script>"], y=[1]))
    html = to_html(fig, name="x", div_id="c1")
    assert html.count("</script>") == 1 and "<script>" not in html
    assert '<div id="c1" class="chart-plot" data-chart="c1-data"></div>' in html
    assert '<script type="application/json" id="c1-data">' in html
    assert problems_in(html, "n" * 22, fragment=True) == []


# ------------------------------------------------------------------------------------------ htmx errors
HX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/"}


def assert_fragment(response: Any, status: int, text: str) -> None:
    html = response.content.decode()
    assert response.status_code == status
    assert "<html" not in html and "<body" not in html and "nav" not in html, html[:300]
    assert 'data-testid="htmx-error"' in html and text in html, html


def test_an_htmx_request_refused_gets_a_message_fragment_not_a_page(org, client_for):
    rep = client_for(org.rep_a)
    assert_fragment(rep.get("/no/such/panel/", headers=HX), 404, "Nothing here")
    assert_fragment(rep.get("/incentives/register/", headers=HX), 403, "Not allowed")
    assert_fragment(rep.get("/reporting/deals/", {"measure": "bookings", "x": "\x00"}, headers=HX), 400, "NUL byte")
    manager = client_for(org.manager_east)
    assert_fragment(manager.get("/forecasting/deals/", {"period": "soon"}, headers=HX), 400, "Unknown period")
    # Without htmx the same refusals are whole pages.
    page = rep.get("/no/such/panel/")
    assert page.status_code == 404 and "<html" in page.content.decode()
