"""Pages of people and roles: what each role sees, what each is refused (404 hides, 403 forbids)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from salesops.org.models import AuditEvent
from tests.org.forms import person_form_data

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_with_password_then_logout(client, org):
    response = client.post(reverse("login"), {"username": "rep_a", "password": "pw"}, follow=True)
    assert response.status_code == 200
    assert "Welcome, " + org.rep_a.first_name in response.content.decode()
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_wrong_password_is_refused_with_a_message(client, org):
    response = client.post(reverse("login"), {"username": "rep_a", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_inactive_person_cannot_sign_in(client, org):
    org.rep_b.is_active = False
    org.rep_b.save()
    response = client.post(reverse("login"), {"username": "rep_b", "password": "pw"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_password_change(client_for, org):
    client = client_for(org.rep_a)
    response = client.post(
        reverse("password_change"),
        {"old_password": "pw", "new_password1": "Quota-Crusher-2026", "new_password2": "Quota-Crusher-2026"},
    )
    assert response.status_code == 302
    org.rep_a.refresh_from_db()
    assert org.rep_a.check_password("Quota-Crusher-2026")


@pytest.mark.parametrize(
    ("who", "panels", "not_panels"),
    [
        ("rep_a", ["rep"], ["manager", "finance", "ops", "org"]),
        ("mgr_east", ["manager"], ["rep", "finance", "ops", "org"]),
        ("fin", ["finance", "org"], ["rep", "manager", "ops"]),
        ("ops_admin", ["ops", "org"], ["rep", "manager", "finance"]),
    ],
)
def test_home_shows_the_panels_of_each_role(client_for, org, who, panels, not_panels):
    user = next(u for u in vars(org).values() if u.username == who)
    html = client_for(user).get(reverse("home")).content.decode()
    for panel in panels:
        assert f'data-panel="{panel}"' in html
    for panel in not_panels:
        assert f'data-panel="{panel}"' not in html


def test_manager_home_lists_direct_reports(client_for, org):
    html = client_for(org.manager_east).get(reverse("home")).content.decode()
    assert org.rep_a.display_name in html and org.rep_b.display_name in html
    assert org.rep_c.display_name not in html
    assert "2 direct reports" in html


def test_the_manager_a_person_reports_to_is_a_link_only_for_who_may_open_their_page(client_for, org):
    # A rep or manager may not open their own manager's page (404): home and their own page name the manager
    # without a link. The director sees the manager's page, and the link to it on the rep's page.
    east_page = reverse("org:person_detail", args=[org.manager_east.pk])
    director_page = reverse("org:person_detail", args=[org.director.pk])
    rep = client_for(org.rep_a)
    html = rep.get(reverse("home")).content.decode()
    assert f"reports to {org.manager_east.display_name}" in html and f'href="{east_page}"' not in html
    assert rep.get(east_page).status_code == 404
    manager = client_for(org.manager_east)
    for url in (reverse("home"), east_page):
        html = manager.get(url).content.decode()
        assert org.director.display_name in html and f'href="{director_page}"' not in html
    assert manager.get(director_page).status_code == 404
    html = manager.get(reverse("org:person_detail", args=[org.rep_a.pk])).content.decode()
    assert f'href="{east_page}"' in html
    html = client_for(org.director).get(reverse("org:person_detail", args=[org.rep_a.pk])).content.decode()
    assert f'href="{east_page}"' in html


def test_navigation_follows_roles(client_for, org):
    assert 'data-nav="people"' not in client_for(org.rep_a).get(reverse("home")).content.decode()
    assert 'data-nav="people"' in client_for(org.manager_east).get(reverse("home")).content.decode()


def test_people_list_is_scoped_and_filterable(client_for, org):
    client = client_for(org.manager_east)
    html = client.get(reverse("org:person_list")).content.decode()
    assert "3 people" in html
    assert org.rep_c.display_name not in html
    html = client.get(reverse("org:person_list"), {"role": "rep"}).content.decode()
    assert "2 people" in html


def test_people_list_answers_htmx_with_the_table_fragment(client_for, org):
    response = client_for(org.ops).get(reverse("org:person_list"), {"q": "rep_c"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html
    assert "1 person ·" in html and "1 people" not in html and org.rep_c.display_name in html


def test_person_outside_scope_is_not_found(client_for, org):
    client = client_for(org.manager_east)
    assert client.get(reverse("org:person_detail", args=[org.rep_c.pk])).status_code == 404
    assert client.get(reverse("org:person_edit", args=[org.rep_c.pk])).status_code == 404
    assert client.get(reverse("org:person_detail", args=[org.rep_a.pk])).status_code == 200


def test_only_sales_ops_may_edit_people(client_for, org):
    response = client_for(org.manager_east).post(reverse("org:person_edit", args=[org.rep_a.pk]), {"first_name": "X"})
    assert response.status_code == 403
    org.rep_a.refresh_from_db()
    assert org.rep_a.first_name != "X"


def test_sales_ops_edit_moves_a_rep_and_audits_it(client_for, org):
    client = client_for(org.ops)
    form = person_form_data(
        org.rep_a,
        title="Senior Account Executive",
        manager=org.manager_west.pk,
        region=org.manager_west.region_id,
        team=org.manager_west.team_id,
        reason="moved to West",
    )
    response = client.post(reverse("org:person_edit", args=[org.rep_a.pk]), form)
    assert response.status_code == 302
    org.rep_a.refresh_from_db()
    assert org.rep_a.manager == org.manager_west
    event = AuditEvent.objects.get(entity_id=str(org.rep_a.pk))
    assert event.actor == org.ops and event.reason == "moved to West"
    assert event.changes["manager"] == [org.manager_east.pk, org.manager_west.pk]
    html = client.get(reverse("org:person_detail", args=[org.rep_a.pk])).content.decode()
    assert "moved to West" in html
    # The history names the people, the team and the region, never their ids.
    west = org.manager_west
    assert f"Manager: {org.manager_east.display_name} → {west.display_name}" in html
    assert f"Region: {org.manager_east.region.name} → {west.region.name}" in html
    assert f"Team: {org.manager_east.team.name} → {west.team.name}" in html
    assert f"→ {west.pk:,}.00" not in html and f"→ {west.team_id}<" not in html  # ids read as money, before


def test_sales_ops_edit_refuses_a_reporting_loop_with_a_message(client_for, org):
    org.rep_a.is_manager = True
    org.rep_a.save()
    client = client_for(org.ops)
    form = person_form_data(org.director, manager=org.rep_a.pk)
    response = client.post(reverse("org:person_edit", args=[org.director.pk]), form)
    assert response.status_code == 200
    assert "already reports" in response.content.decode()
    org.director.refresh_from_db()
    assert org.director.manager is None


def test_people_export_is_scoped(client_for, org):
    import csv
    import io

    response = client_for(org.manager_east).get(reverse("org:person_list"), {"export": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert {r["Login"] for r in rows} == {"mgr_east", "rep_a", "rep_b"}


def test_one_navigation_item_is_lit_the_longest_match(client_for, org):
    import re

    html = client_for(org.ops).get(reverse("incentives:plan_list")).content.decode()
    lit = re.findall(r'class="active" data-nav="([a-z]+)"', html)
    assert lit == ["plans"]  # not also "My pay", whose address /incentives/ starts this page's too
    home = client_for(org.ops).get(reverse("home")).content.decode()
    assert re.findall(r'class="active" data-nav="([a-z]+)"', home) == ["home"]
