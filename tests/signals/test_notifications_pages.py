"""The notification centre as a person uses it: the bell's count on every page, the list (unread first, mark read,
mark all read, htmx), the preferences grid, the API; and nobody reaches another person's notifications."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from signals.models import Kind, Notification, NotificationPreference
from signals.services.notifications import notify

pytestmark = pytest.mark.django_db
HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}
API = "/api/v1/signals"


def client_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def bell_count(html: str) -> str | None:
    found = re.search(r'data-testid="bell-count">([^<]*)<', html)
    return found.group(1) if found else None


def tell(person: Any, n: int = 1, kind: str = Kind.DEAL_ASSIGNED, **extra: Any) -> list[Notification]:
    for i in range(n):
        notify(recipient_ids=[person.pk], kind=kind, title=f"Note {i}", **extra)
    return list(Notification.objects.filter(recipient=person).order_by("id"))


def test_the_bell_shows_the_unread_count_on_every_page(org):
    rep = client_of(org.rep_a)
    assert bell_count(rep.get(reverse("home")).content.decode()) is None  # nothing unread: no number
    notes = tell(org.rep_a, 3)
    tell(org.rep_b, 2)  # someone else's never count
    for url in (reverse("home"), reverse("pipeline:deal_list"), reverse("signals:home")):
        page = rep.get(url).content.decode()
        assert 'data-testid="bell"' in page
        assert bell_count(page) == "3", url
    rep.post(reverse("signals:notification_read", args=[notes[0].pk]))
    assert bell_count(rep.get(reverse("home")).content.decode()) == "2"
    # Marking read through htmx brings the header's bell along, counted again (swapped in out of band).
    answer = rep.post(reverse("signals:notification_read", args=[notes[1].pk]), **HTMX).content.decode()
    assert 'hx-swap-oob="true"' in answer and bell_count(answer) == "1"
    # The bell never polls: pages that stop polling when their work is done stay quiet.
    assert "hx-get" not in rep.get(reverse("signals:preferences")).content.decode().split("<main")[0]


def test_the_bell_says_99_plus_beyond_99_and_costs_one_query(org, django_assert_num_queries):
    from signals.context_processors import Bell

    tell(org.rep_a, 105)
    bell = Bell(org.rep_a.pk)
    with django_assert_num_queries(1):
        assert (bell.shown, bell.shown, bell.unread) == ("99+", "99+", 100)


def test_the_list_shows_unread_first_and_marks_read(org):
    first, second, third = tell(org.rep_a, 3)
    Notification.objects.filter(pk=third.pk).update(read_at=third.created_at)  # the newest is read
    rep = client_of(org.rep_a)
    page = rep.get(reverse("signals:notification_list")).content.decode()
    order = [int(pk) for pk in re.findall(r'id="notification-(\d+)"', page)]
    assert order == [second.pk, first.pk, third.pk]
    assert "Unread (2)" in page
    # Mark one read through htmx: the row comes back read and the bell is told to count again.
    answer = rep.post(reverse("signals:notification_read", args=[first.pk]), **HTMX)
    assert answer.status_code == 200 and answer["HX-Trigger"] == "notifications-changed"
    assert 'data-testid="mark-unread"' in answer.content.decode()
    assert Notification.objects.get(pk=first.pk).read_at is not None
    # Mark all read.
    answer = rep.post(reverse("signals:notification_read_all"), **HTMX)
    assert answer.status_code == 200 and "Mark all read" not in answer.content.decode()
    assert not Notification.objects.filter(recipient=org.rep_a, read_at__isnull=True).exists()
    # Unread only: nothing left.
    assert "Nothing unread" in rep.get(reverse("signals:notification_list") + "?show=unread").content.decode()


def test_opening_a_notification_marks_it_read_and_goes_where_it_points(org):
    [note] = tell(org.rep_a, url="/pipeline/deals/")
    answer = client_of(org.rep_a).post(reverse("signals:notification_open", args=[note.pk]))
    assert answer.status_code == 302 and answer["Location"] == "/pipeline/deals/"
    assert Notification.objects.get(pk=note.pk).read_at is not None


def test_another_persons_notification_is_404_on_page_fragment_and_api(org, api_client_for):
    [note] = tell(org.rep_b)
    for who in (org.rep_a, org.manager_east, org.ops, org.finance):  # not even their manager or sales ops
        client = client_of(who)
        assert client.get(reverse("signals:notification_detail", args=[note.pk])).status_code == 404
        assert client.get(reverse("signals:notification_detail", args=[note.pk]), **HTMX).status_code == 404
        assert client.post(reverse("signals:notification_read", args=[note.pk]), **HTMX).status_code == 404
        assert client.post(reverse("signals:notification_open", args=[note.pk])).status_code == 404
        api = api_client_for(who)
        assert api.get(f"{API}/notifications/{note.pk}/").status_code == 404
        assert api.post(f"{API}/notifications/{note.pk}/read/", {"read": True}, format="json").status_code == 404
        assert api.get(f"{API}/notifications/").json()["results"] == []
    assert Notification.objects.get(pk=note.pk).read_at is None
    # Their own is theirs.
    assert client_of(org.rep_b).get(reverse("signals:notification_detail", args=[note.pk])).status_code == 200


def test_the_api_lists_own_marks_read_and_counts(org, api_client_for):
    notes = tell(org.rep_a, 2)
    api = api_client_for(org.rep_a)
    listed = api.get(f"{API}/notifications/").json()["results"]
    assert [n["id"] for n in listed] == [notes[1].pk, notes[0].pk]
    assert api.get(f"{API}/notifications/unread/").json() == {"unread": 2}
    marked = api.post(f"{API}/notifications/{notes[0].pk}/read/", {}, format="json").json()
    assert marked["read"] is True
    assert [n["id"] for n in api.get(f"{API}/notifications/?unread=true").json()["results"]] == [notes[1].pk]
    assert api.post(f"{API}/notifications/read-all/").json() == {"marked": 1}


def test_preferences_grid_switches_one_cell(org, api_client_for):
    rep = client_of(org.rep_a)
    page = rep.get(reverse("signals:preferences")).content.decode()
    assert 'data-testid="pref-dispute_resolved-email"' in page
    # E-mail is on by default for a resolved dispute, off for a deal assigned.
    on = re.search(r'aria-label="Dispute resolved by E-mail: (on|off)"', page)
    assert on and on.group(1) == "on"
    answer = rep.post(reverse("signals:preferences"), {"kind": "deal_assigned", "channel": "in_app", "on": "0"}, **HTMX)
    assert answer.status_code == 200 and "Deal assigned to you by In app: off" in answer.content.decode()
    assert NotificationPreference.objects.get(person=org.rep_a, kind="deal_assigned").in_app is False
    assert tell(org.rep_a) == []  # in-app off: the bell hears nothing of it
    assert rep.post(reverse("signals:preferences"), {"kind": "nope", "channel": "email", "on": "1"}).status_code == 400
    # The API reads and writes the same grid.
    api = api_client_for(org.rep_a)
    row = api.post(f"{API}/notification-preferences/", {"kind": "period_locked", "slack": True}, format="json").json()
    assert (row["in_app"], row["email"], row["slack"], row["teams"]) == (True, True, True, False)
    grid = {r["kind"]: r for r in api.get(f"{API}/notification-preferences/").json()}
    assert grid["deal_assigned"]["in_app"] is False and grid["period_locked"]["slack"] is True


def test_someone_signed_out_has_no_bell(client):
    assert 'data-testid="bell"' not in client.get(reverse("login")).content.decode()


def test_when_a_notification_came_is_said_as_people_say_it():
    import datetime as dt

    from signals.views.notifications import ago

    now = dt.datetime(2026, 12, 6, 15, 0, tzinfo=dt.UTC)
    said = [ago(now - gap, now) for gap in (dt.timedelta(seconds=20), dt.timedelta(minutes=1),
                                            dt.timedelta(minutes=45), dt.timedelta(hours=1), dt.timedelta(hours=5),
                                            dt.timedelta(hours=30), dt.timedelta(days=3), dt.timedelta(days=40))]  # fmt: skip
    assert said == ["just now", "1 minute ago", "45 minutes ago", "1 hour ago", "5 hours ago", "yesterday",
                    "3 days ago", "27 Oct 2026"]  # fmt: skip
