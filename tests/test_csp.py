"""Content-Security-Policy (hardening, part 6): every HTML answer carries the strict policy with a nonce made for
it; no page or fragment the crawl reaches has an inline event handler, a `javascript:` address, a style
attribute, or an inline script or style without that nonce; and an htmx request refused with 400, 403 or 404 gets
a message fragment rather than a whole page to swap into its target."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import plotly.graph_objects as go
import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone

from salesops.celery import app as celery_app
from salesops.charts import to_html
from tests.test_crawl import DEMO_PASSWORD, Answer, Crawler

pytestmark = pytest.mark.django_db

POLICY = re.compile(
    r"^default-src 'self'; script-src 'self' 'nonce-(?P<nonce>[\w-]{22})'; style-src 'self' 'nonce-(?P=nonce)'; "
    r"img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    r"frame-ancestors 'none'; form-action 'self'$"
)
HANDLER = re.compile(r"on[a-z]+")
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "hx-get", "hx-post"}
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}  # data, never run (json_script, the chart figures)


def nonce_of(response: Any) -> str:
    policy = response.headers.get("Content-Security-Policy", "")
    match = POLICY.match(policy)
    assert match, f"not the policy: {policy!r}"
    return match["nonce"]


class InlineCode(HTMLParser):
    """What the policy would refuse in one HTML answer, given the nonce it was sent with. An htmx fragment may hold
    no inline script at all: swapped into a page, it would carry a nonce other than the page's."""

    def __init__(self, nonce: str, fragment: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.nonce, self.fragment = nonce, fragment
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = dict(attrs_list)
        for name, value in attrs.items():
            if HANDLER.fullmatch(name):
                self.problems.append(f"<{tag} {name}=…> (an inline event handler)")
            elif name == "style":
                self.problems.append(f'<{tag} style="{value}"> (a style attribute)')
            elif name in URL_ATTRIBUTES and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f'<{tag} {name}="{value}">')
        if tag == "script" and "src" not in attrs and (attrs.get("type") or "").lower() not in DATA_SCRIPT_TYPES:
            if self.fragment:
                self.problems.append("an inline <script> in an htmx fragment")
            elif attrs.get("nonce") != self.nonce:
                self.problems.append(f"<script> without this answer's nonce (nonce={attrs.get('nonce')!r})")
        if tag == "style" and attrs.get("nonce") != self.nonce:
            self.problems.append(f"<style> without this answer's nonce (nonce={attrs.get('nonce')!r})")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def problems_in(html: str, nonce: str, *, fragment: bool) -> list[str]:
    parser = InlineCode(nonce, fragment)
    parser.feed(html)
    parser.close()
    return parser.problems


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


# ------------------------------------------------------------------------------------------------ the crawl
@dataclass
class Finding:
    role: str
    url: str
    problem: str

    def __str__(self) -> str:
        return f"[{self.role}] {self.url}: {self.problem}"


class PolicyCrawler(Crawler):
    """tests/test_crawl.py's crawl, reading every HTML answer (pages, fragments, form answers) for the policy."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.findings: list[Finding] = []
        self.nonces: set[str] = set()
        self.html_answers = 0

    def request(self, method: str, url: str, **kwargs: Any) -> Answer:
        answer = super().request(method, url, **kwargs)
        if not answer.headers.get("content-type", "").startswith("text/html") or not answer.body:
            return answer
        self.html_answers += 1
        match = POLICY.match(answer.headers.get("content-security-policy", ""))
        if match is None:
            self.findings.append(Finding(self.role, url, "no or another Content-Security-Policy"))
            return answer
        nonce = match["nonce"]
        if nonce in self.nonces:
            self.findings.append(Finding(self.role, url, "a nonce sent before"))
        self.nonces.add(nonce)
        fragment = bool(kwargs.get("htmx"))
        for problem in problems_in(answer.body.decode(), nonce, fragment=fragment):
            self.findings.append(Finding(self.role, url + (" (htmx)" if fragment else ""), problem))
        return answer


CRAWLED_ROLES = ["rep", "manager", "finance", "ops"]  # the director sees the manager's pages for more people


@pytest.fixture(scope="module")
def crawlers(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, PolicyCrawler]]:
    with django_db_blocker.unblock():
        cache.clear()
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            call_command("seed_demo", "--seed", "7", stdout=io.StringIO())
            today = timezone.localdate()
            results: dict[str, PolicyCrawler] = {}
            for role in CRAWLED_ROLES:
                with transaction.atomic():
                    client = Client(raise_request_exception=False)
                    assert client.login(username=role, password=DEMO_PASSWORD)
                    results[role] = PolicyCrawler(role, client, today)
                    results[role].run()
                    transaction.set_rollback(True)
                cache.clear()
            yield results
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            cache.clear()
            celery_app.control.purge()  # "recompute now" tasks queued on this slot's broker; no worker runs them


def test_no_page_or_fragment_the_crawl_reaches_has_code_the_policy_refuses(crawlers: dict[str, PolicyCrawler]):
    for crawler in crawlers.values():
        assert crawler.html_answers >= 100, f"{crawler.role}: only {crawler.html_answers} HTML answers read"
    seen: dict[tuple[str, str], Finding] = {}  # one per address pattern and problem, to stay readable
    for crawler in crawlers.values():
        for finding in crawler.findings:
            seen.setdefault((finding.url.split("?")[0], finding.problem), finding)
    assert not seen, f"{len(seen)} problems:\n" + "\n".join(str(finding) for finding in seen.values())
