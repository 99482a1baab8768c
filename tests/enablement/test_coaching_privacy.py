"""A 1:1's notes and action items are its manager's and its report's alone, on every surface, sales ops included.

A 1:1 of manager_east with rep_a carries unique marker strings in its notes and action items. For every third
person — sales ops, finance, a superuser, the director above the manager, another manager, another rep (a
teammate and one of another team) — the pair's page, the meeting page, its HTMX fragments and every API endpoint
answer 404, and no answer of any enablement URL pattern (walked from Django's resolver, every path id filled with
the 1:1's, its items' and the two people's ids), of the home, the people pages, the audit history or the admin
carries a marker. The two people themselves do see them (so the search is not blind).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from enablement.models import ActionItem, OneOnOne
from enablement.services import coaching as services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOTE = "COACHSECRET-note-7f3a9c"
ACTION = "COACHSECRET-action-9c1e44"
CARRIED = "COACHSECRET-carried-51bd20"
MARKERS = (NOTE, ACTION, CARRIED, "COACHSECRET")
OUTSIDERS = ("ops", "finance", "superuser", "director", "manager_west", "rep_b", "rep_c")
# The full walk of every enablement answer, for one third person of each kind: who reads everyone (sales ops), the
# superuser, the manager's own manager, and the report's teammate (the 404 test above covers all seven).
WALKERS = ("ops", "superuser", "director", "rep_b")


@pytest.fixture
def secret(org):
    people = {
        "ops": org.ops, "finance": org.finance, "director": org.director, "manager_west": org.manager_west,
        "rep_b": org.rep_b, "rep_c": org.rep_c, "manager_east": org.manager_east, "rep_a": org.rep_a,
        "superuser": UserFactory.create(username="root", is_superuser=True, is_staff=True, is_rep=False,
                                        is_sales_ops=True),
    }  # fmt: skip
    earlier = services.one_on_one_create(actor=org.manager_east, report_id=org.rep_a.pk,
                                         held_on=dt.date.today() - dt.timedelta(days=14))  # fmt: skip
    carried = services.action_item_add(actor=org.rep_a, one_on_one=earlier, text=CARRIED, owner="report")
    meeting = services.one_on_one_create(actor=org.manager_east, report_id=org.rep_a.pk, held_on=dt.date.today())
    services.one_on_one_notes_save(actor=org.rep_a, one_on_one=meeting, notes=NOTE)
    item = services.action_item_add(actor=org.manager_east, one_on_one=meeting, text=ACTION)
    services.one_on_one_save(actor=org.manager_east, one_on_one=earlier, today=dt.date.today(),
                             now=dt.datetime.now(dt.UTC))  # fmt: skip
    # The outsiders' own 1:1s exist too (so their lists are not empty by accident).
    services.one_on_one_create(actor=org.manager_west, report_id=org.rep_c.pk, held_on=dt.date.today())
    services.one_on_one_create(actor=org.manager_east, report_id=org.rep_b.pk, held_on=dt.date.today())
    ids = {"meeting": meeting.pk, "earlier": earlier.pk, "item": item.pk, "carried": carried.pk,
           "rep_a": org.rep_a.pk, "manager_east": org.manager_east.pk}  # fmt: skip
    return people, ids


def _clients(user) -> tuple[Client, APIClient]:
    client, api = Client(raise_request_exception=False), APIClient(raise_request_exception=False)
    client.force_login(user)
    api.force_authenticate(user)
    return client, api


def _text(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8", "replace")


def _leaks(text: str) -> list[str]:
    return [marker for marker in MARKERS if marker in text]


def test_the_two_people_see_the_markers(secret) -> None:
    people, ids = secret
    for who in ("manager_east", "rep_a"):
        client, api = _clients(people[who])
        page = _text(client.get(f"/enablement/one-on-ones/meetings/{ids['meeting']}/"))
        assert NOTE in page and ACTION in page and CARRIED in page, who
        detail = _text(api.get(f"/api/v1/enablement/one-on-ones/{ids['meeting']}/"))
        assert NOTE in detail and ACTION in detail and CARRIED in detail, who
        assert ACTION in _text(api.get("/api/v1/enablement/action-items/")), who


@pytest.mark.parametrize("who", OUTSIDERS)
def test_every_1_1_surface_answers_404_to_a_third_person(secret, who) -> None:
    people, ids = secret
    client, api = _clients(people[who])
    m, i = ids["meeting"], ids["item"]
    pages = [
        ("get", f"/enablement/one-on-ones/{ids['rep_a']}/"),
        ("get", f"/enablement/one-on-ones/meetings/{m}/"),
        ("htmx", f"/enablement/one-on-ones/meetings/{m}/"),
        ("get", f"/enablement/one-on-ones/meetings/{ids['earlier']}/"),
        ("post", f"/enablement/one-on-ones/meetings/{m}/notes/"),
        ("htmx-post", f"/enablement/one-on-ones/meetings/{m}/notes/"),
        ("post", f"/enablement/one-on-ones/meetings/{m}/save/"),
        ("post", f"/enablement/one-on-ones/meetings/{m}/actions/"),
        ("htmx-post", f"/enablement/one-on-ones/meetings/{m}/actions/"),
        ("post", f"/enablement/one-on-ones/actions/{i}/done/"),
        ("htmx-post", f"/enablement/one-on-ones/actions/{ids['carried']}/done/"),
    ]
    for method, url in pages:
        htmx = "true" if method.startswith("htmx") else ""
        body = {"notes": "overwritten", "text": "x", "held_on": "2030-01-02", "done": "1"}
        answer: Any = (
            client.post(url, body, HTTP_HX_REQUEST=htmx)
            if method.endswith("post")
            else client.get(url, HTTP_HX_REQUEST=htmx)
        )
        assert answer.status_code == 404, (who, method, url, answer.status_code)
        assert not _leaks(_text(answer)), (who, url)
    # Scheduling a 1:1 with rep_a: refused (403) to all but their manager, the same for any person id.
    for person in (ids["rep_a"], 987_654_321):
        refused = client.post(f"/enablement/one-on-ones/{person}/", {"held_on": "2030-01-02"})
        assert refused.status_code == 403 and not _leaks(_text(refused)), who
    created = api.post("/api/v1/enablement/one-on-ones/", {"report": ids["rep_a"], "held_on": "2030-01-02"})
    assert created.status_code == 403, who
    calls: list[Any] = [
        api.get(f"/api/v1/enablement/one-on-ones/{m}/"),
        api.patch(f"/api/v1/enablement/one-on-ones/{m}/", {"notes": "overwritten"}, format="json"),
        api.post(f"/api/v1/enablement/one-on-ones/{m}/save/"),
        api.post(f"/api/v1/enablement/one-on-ones/{m}/action-items/", {"text": "x"}, format="json"),
        api.get(f"/api/v1/enablement/action-items/{i}/"),
        api.patch(f"/api/v1/enablement/action-items/{i}/", {"done": True}, format="json"),
        api.patch(f"/api/v1/enablement/action-items/{ids['carried']}/", {"done": True}, format="json"),
    ]
    for answer in calls:
        assert answer.status_code == 404, (who, answer.request["PATH_INFO"], answer.status_code)
    lists = [
        "/api/v1/enablement/one-on-ones/",
        f"/api/v1/enablement/one-on-ones/?report={ids['rep_a']}",
        f"/api/v1/enablement/one-on-ones/?manager={ids['manager_east']}",
        f"/api/v1/enablement/one-on-ones/?report={ids['rep_a']}&manager={ids['manager_east']}&from=2000-01-01",
        "/api/v1/enablement/action-items/",
        f"/api/v1/enablement/action-items/?one_on_one={m}",
        "/api/v1/enablement/action-items/?open=true",
        "/api/v1/enablement/action-items/?open=false",
    ]
    for url in lists:
        answer = api.get(url)
        assert answer.status_code == 200, (who, url)
        rows = answer.json()
        assert all(ids["rep_a"] not in (row.get("report"), row.get("owner")) for row in rows), (who, url, rows)
        assert not _leaks(_text(answer)), (who, url)
    meeting = OneOnOne.objects.get(pk=m)
    assert meeting.notes == NOTE and not ActionItem.objects.filter(text="x").exists()
    assert ActionItem.objects.get(pk=i).done_at is None


def _enablement_routes() -> list[str]:
    def walk(patterns: list[URLPattern | URLResolver], prefix: str) -> Iterator[str]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern)

    routes = []
    for route in walk(get_resolver().url_patterns, ""):
        route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", route).replace("^", "").replace("$", "")
        if "format" in route or not route.startswith(("enablement/", "api/v1/enablement/")):
            continue
        routes.append(route)
    return routes


def _filled(route: str, ids: dict[str, int]) -> list[tuple[str, str]]:
    """(url, which id) for the route with every path id set to each id the secret has (the 1:1s, their items,
    the two people)."""
    if not re.search(r"<(?:\w+:)?\w+>", route):
        return [("/" + route, "")]
    return [("/" + re.sub(r"<(?:\w+:)?(\w+)>", str(value), route), name) for name, value in sorted(ids.items())]


def _must_be_missing(route: str, which: str) -> bool:
    """Whether the route with that id is one of the 1:1's own addresses (a meeting, an item, rep_a's pair page)."""
    meetings = ("enablement/one-on-ones/meetings/", "api/v1/enablement/one-on-ones/<pk>/")
    items = ("enablement/one-on-ones/actions/", "api/v1/enablement/action-items/<pk>/")
    return (
        (route.startswith(meetings) and which in ("meeting", "earlier"))
        or (route.startswith(items) and which in ("item", "carried"))
        or (route == "enablement/one-on-ones/<int:pk>/" and which == "rep_a")
    )


@pytest.mark.parametrize("who", WALKERS)
def test_no_enablement_answer_carries_a_marker_for_a_third_person(secret, who) -> None:
    people, ids = secret
    client, api = _clients(people[who])
    routes = _enablement_routes()
    assert "enablement/one-on-ones/meetings/<int:pk>/" in routes and "api/v1/enablement/action-items/" in routes
    walked = 0
    for route in routes:
        for url, which in _filled(route, ids):
            api_url = url.startswith("/api/")
            for answer in (
                (api.get(url) if api_url else client.get(url)),
                (api.get(url + "?q=x") if api_url else client.get(url, HTTP_HX_REQUEST="true")),
                (api.get(url + "?format=json") if api_url else client.get(url + "?export=csv")),
            ):
                walked += 1
                assert answer.status_code < 500, (who, url, answer.status_code)
                assert not _leaks(_text(answer)), (who, url, _leaks(_text(answer)))
                if _must_be_missing(route, which):
                    assert answer.status_code in (404, 405), (who, url, answer.status_code)
    assert walked > 3 * len(routes)
    # The home, the people pages and the audit history name nothing of it either.
    for url in ("/", "/enablement/", f"/org/people/{ids['rep_a']}/", f"/org/people/{ids['manager_east']}/",
                "/incentives/history/", "/api/v1/incentives/audit/", "/api/v1/people/"):  # fmt: skip
        answer = api.get(url) if url.startswith("/api/") else client.get(url)
        assert answer.status_code < 500 and not _leaks(_text(answer)), (who, url)


def test_the_admin_does_not_register_1_1s() -> None:
    assert OneOnOne not in admin.site._registry and ActionItem not in admin.site._registry


def test_the_superuser_admin_shows_no_marker(secret) -> None:
    people, _ = secret
    client, _ = _clients(people["superuser"])
    for url in ("/admin/", "/admin/enablement/", "/admin/enablement/oneonone/", "/admin/enablement/actionitem/"):
        answer = client.get(url)
        assert answer.status_code < 500 and not _leaks(_text(answer)), url
