"""Sales ops run the people of the company from the hub: add a person (a first password or an e-mailed link),
change them without blanking what a request left out, deactivate a leaver (deals, plans and reports handed
over), and everyone reads the org chart of what they may see. Pages and API alike, audited, 403 for others."""

from __future__ import annotations

import datetime as dt
import re
import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from rest_framework.test import APIClient

from incentives.models import CompPlan, PlanAssignment
from pipeline.models import Deal, DealChange
from salesops.org.models import AuditEvent, User
from tests.factories import DealFactory, UserFactory, default_stages
from tests.org.forms import person_form_data

pytestmark = pytest.mark.django_db

STRONG = "Pipeline-Velvet-42"


def add_form(org, **changes):
    data = {
        "username": "nina",
        "first_name": "Nina",
        "last_name": "Okafor",
        "email": "nina.okafor@example.com",
        "title": "Account Executive",
        "is_rep": "on",
        "manager": org.manager_east.pk,
        "region": org.manager_east.region_id,
        "team": org.manager_east.team_id,
        "start_date": "2025-03-03",
        "end_date": "",
        "sign_in": "password",
        "password": STRONG,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def signs_in(username: str, password: str) -> bool:
    from django.test import Client

    client = Client()
    client.post(reverse("login"), {"username": username, "password": password})
    return "_auth_user_id" in client.session


def select_html(html: str, name: str) -> str:
    found = re.search(rf'<select name="{name}".*?</select>', html, re.S)
    assert found is not None, f"no {name} select on the page"
    return found.group(0)


def page_errors(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# ------------------------------------------------------------------------------------------------ add a person
def test_sales_ops_add_a_person_with_a_first_password_who_then_signs_in(client_for, org):
    client = client_for(org.ops)
    assert 'data-testid="add-person"' in client.get(reverse("org:person_list")).content.decode()
    response = client.post(reverse("org:person_add"), add_form(org), follow=True)
    nina = User.objects.get(username="nina")
    assert response.redirect_chain[-1][0] == reverse("org:person_detail", args=[nina.pk])
    assert "Added Nina Okafor: they sign in as nina with the first password you gave." in page_errors(response)
    assert (nina.manager, nina.region, nina.team) == (org.manager_east, org.manager_east.region, org.manager_east.team)
    assert nina.roles == ["rep"] and nina.start_date == dt.date(2025, 3, 3) and nina.is_active
    assert not mail.outbox  # a first password sends no mail
    created = AuditEvent.objects.get(entity="org.user", entity_id=str(nina.pk), action="create")
    assert created.actor == org.ops and created.changes["manager"] == [None, org.manager_east.pk]
    assert "password" not in created.changes
    assert signs_in("nina", STRONG)
    # Her manager now sees her in the team; the home greets her.
    client.logout()
    client.force_login(nina)
    assert "Welcome, Nina" in client.get(reverse("home")).content.decode()


def test_sales_ops_add_a_person_by_link_who_sets_a_password_then_signs_in(
    client, client_for, org, django_capture_on_commit_callbacks
):
    ops = client_for(org.ops)
    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post(reverse("org:person_add"), add_form(org, sign_in="link", password=""), follow=True)
    assert "a link to choose a password was e-mailed to nina.okafor@example.com" in page_errors(response)
    nina = User.objects.get(username="nina")
    assert not nina.has_usable_password()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nina.okafor@example.com"] and "Your username is nina" in message.body
    link = re.search(r"http://testserver(/org/set-password/\S+/)", str(message.body))
    assert link is not None
    assert AuditEvent.objects.filter(entity_id=str(nina.pk), action="password_link", actor=org.ops).exists()

    ops.logout()  # the new person opens the link in their own browser
    page = client.get(link.group(1), follow=True)
    assert "Choose your password" in page.content.decode()
    form_url = page.redirect_chain[-1][0]
    weak = client.post(form_url, {"new_password1": "password1", "new_password2": "password1"})
    assert "This password is too common." in page_errors(weak)
    done = client.post(form_url, {"new_password1": STRONG, "new_password2": STRONG}, follow=True)
    assert done.redirect_chain[-1][0] == reverse("login")
    assert "Your password is set. Sign in as nina." in page_errors(done)
    assert signs_in("nina", STRONG)
    assert AuditEvent.objects.filter(entity_id=str(nina.pk), action="set_password", actor=nina).exists()
    # The link works once.
    again = client.get(link.group(1), follow=True)
    assert 'data-testid="link-invalid"' in again.content.decode()


def test_a_link_is_mailed_only_when_the_person_is_saved(client_for, org, django_capture_on_commit_callbacks):
    User.objects.filter(pk=org.rep_b.pk).update(email="nina.okafor@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(org.ops).post(reverse("org:person_add"), add_form(org, sign_in="link", password=""))
    assert response.status_code == 200
    assert not User.objects.filter(username="nina").exists() and not mail.outbox


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"username": "REP_A"}, "The username &#x27;REP_A&#x27; is taken by"),
        ({"email": "Rep_B@example.com"}, "The e-mail address Rep_B@example.com is already"),
        ({"password": "okafor2025"}, "too similar to the last name"),
        ({"password": "short"}, "This password is too short"),
        ({"password": ""}, "Type their first password, or choose to e-mail them a link."),
        ({"sign_in": "link", "password": "", "email": ""}, "The set-password link is e-mailed: give their e-mail"),
        ({"is_rep": None}, "Tick at least one role"),
        ({"first_name": ""}, "This field is required."),
        ({"start_date": "2025-03-03", "end_date": "2025-01-01"}, "is before the start date"),
        ({"team": "__west__"}, "is in West, not in East"),
        ({"manager": "__rep__"}, "Select a valid choice"),
    ],
)
def test_adding_a_person_refuses_with_a_clear_message(client_for, org, changes, message):
    changes = {
        key: {"__west__": org.manager_west.team_id, "__rep__": org.rep_a.pk}.get(value, value)
        for key, value in changes.items()
    }
    before = User.objects.count()
    response = client_for(org.ops).post(reverse("org:person_add"), add_form(org, **changes))
    assert response.status_code == 200
    assert message in page_errors(response)
    assert User.objects.count() == before


# ------------------------------------------------------------------------------------------ edit: no blanking
def test_a_post_carrying_only_a_reason_blanks_nothing(client_for, org):
    before = User.objects.values().get(pk=org.rep_a.pk)
    response = client_for(org.ops).post(reverse("org:person_edit", args=[org.rep_a.pk]), {"reason": "tidy"})
    assert response.status_code == 200
    html = page_errors(response)
    assert "The form arrived without first name, last name," in html
    assert "nothing was saved, so nothing was blanked" in html
    assert User.objects.values().get(pk=org.rep_a.pk) == before
    assert not AuditEvent.objects.filter(entity_id=str(org.rep_a.pk)).exists()


def test_a_post_missing_one_field_is_refused_naming_it(client_for, org):
    form = person_form_data(org.rep_a, title="Senior AE")
    del form["manager"]
    response = client_for(org.ops).post(reverse("org:person_edit", args=[org.rep_a.pk]), form)
    assert "The form arrived without reports to" in page_errors(response)
    org.rep_a.refresh_from_db()
    assert org.rep_a.title == "Account Executive" and org.rep_a.manager == org.manager_east


def test_the_whole_form_saves_and_an_unticked_role_is_removed(client_for, org):
    form = person_form_data(org.rep_a, is_rep=False, is_manager=True, title="Team Lead", reason="promoted")
    response = client_for(org.ops).post(reverse("org:person_edit", args=[org.rep_a.pk]), form)
    assert response.status_code == 302
    org.rep_a.refresh_from_db()
    assert org.rep_a.roles == ["manager"] and org.rep_a.title == "Team Lead"
    assert org.rep_a.manager == org.manager_east and org.rep_a.is_active  # untouched fields kept
    event = AuditEvent.objects.get(entity_id=str(org.rep_a.pk), action="update")
    assert event.changes == {"is_rep": [True, False], "is_manager": [False, True], "title": ["Account Executive",
                             "Team Lead"]} and event.reason == "promoted"  # fmt: skip


def test_the_edit_page_offers_no_manager_that_would_close_a_loop(client_for, org):
    html = client_for(org.ops).get(reverse("org:person_edit", args=[org.manager_east.pk])).content.decode()
    select = select_html(html, "manager")
    assert f'value="{org.director.pk}"' in select and f'value="{org.manager_west.pk}"' in select
    assert f'value="{org.manager_east.pk}"' not in select  # not themself


def test_the_edit_page_reactivates_but_never_deactivates(client_for, org):
    client = client_for(org.ops)
    assert 'name="is_active"' not in client.get(reverse("org:person_edit", args=[org.rep_a.pk])).content.decode()
    User.objects.filter(pk=org.rep_b.pk).update(is_active=False)
    form = person_form_data(org.rep_b, is_active=True, reason="came back")
    assert client.post(reverse("org:person_edit", args=[org.rep_b.pk]), form).status_code == 302
    org.rep_b.refresh_from_db()
    assert org.rep_b.is_active


# ------------------------------------------------------------------------------------------ deactivate a leaver
@pytest.fixture
def leaver_book(org):
    """rep_a owns two open deals and a won one, and is on a plan with no end."""
    stages = default_stages()
    open_deals = [
        DealFactory.create(owner=org.rep_a),
        DealFactory.create(owner=org.rep_a, stage=stages["Qualification"]),
    ]
    won = DealFactory.create(owner=org.rep_a, stage=stages["Closed Won"])
    plan = CompPlan.objects.create(key="ae", name="AE plan")
    assignment = PlanAssignment.objects.create(person=org.rep_a, plan=plan, start=dt.date(2025, 1, 1))
    return open_deals, won, assignment


def test_deactivating_a_leaver_hands_everything_over_and_audits_it(client_for, org, leaver_book):
    open_deals, won, assignment = leaver_book
    client = client_for(org.ops)
    page = client.get(reverse("org:person_deactivate", args=[org.rep_a.pk])).content.decode()
    assert "their <strong>open deals</strong> go to the person you choose" in page
    response = client.post(
        reverse("org:person_deactivate", args=[org.rep_a.pk]),
        {"end_date": "2025-06-30", "successor": org.rep_b.pk, "reason": "left the company"},
        follow=True,
    )
    html = page_errors(response)
    who = org.rep_a.display_name
    assert f"{who} is inactive and can no longer sign in." in html
    assert f"2 open deals moved to {org.rep_b.display_name}." in html
    assert "Plan assignment (AE plan) ended on 2025-06-30." in html
    assert set(Deal.objects.filter(owner=org.rep_b).values_list("pk", flat=True)) == {d.pk for d in open_deals}
    won.refresh_from_db()
    assert won.owner == org.rep_a  # credited to them: stays theirs
    owner_changes = DealChange.objects.filter(field="owner", deal__in=open_deals)
    assert {(c.old_ref, c.new_ref, c.changed_by_id) for c in owner_changes} == {
        (org.rep_a.pk, org.rep_b.pk, org.ops.pk)
    }
    assignment.refresh_from_db()
    assert assignment.end == dt.date(2025, 6, 30)
    assert AuditEvent.objects.filter(entity="incentives.planassignment", entity_id=str(assignment.pk),
                                     changes={"end": [None, "2025-06-30"]}, actor=org.ops).exists()  # fmt: skip
    org.rep_a.refresh_from_db()
    assert not org.rep_a.is_active and org.rep_a.end_date == dt.date(2025, 6, 30)
    event = AuditEvent.objects.get(entity="org.user", entity_id=str(org.rep_a.pk), action="deactivate")
    assert event.actor == org.ops and event.reason == "left the company"
    assert event.changes["is_active"] == [True, False] and event.changes["end_date"] == [None, "2025-06-30"]
    assert "2 open deals moved" in event.changes["handed_over"][1]
    assert "left the company" in html  # the history on their page shows it
    assert not signs_in("rep_a", "pw")
    # No Deactivate button on an inactive person's page.
    assert reverse("org:person_deactivate", args=[org.rep_a.pk]) not in html


def test_a_leaver_with_open_deals_needs_a_successor_and_nothing_changes_without(client_for, org, leaver_book):
    response = client_for(org.ops).post(
        reverse("org:person_deactivate", args=[org.rep_a.pk]), {"end_date": "2025-06-30", "reason": "left"}
    )
    assert "2 open deals still belong to this person: choose who takes them over." in page_errors(response)
    org.rep_a.refresh_from_db()
    assert org.rep_a.is_active and Deal.objects.filter(owner=org.rep_a).count() == 3
    assert PlanAssignment.objects.get(person=org.rep_a).end is None
    assert not AuditEvent.objects.filter(entity_id=str(org.rep_a.pk)).exists()


def test_a_plan_starting_after_the_last_day_refuses_the_deactivation(client_for, org, leaver_book):
    later = CompPlan.objects.create(key="ae2", name="AE plan 2026")
    PlanAssignment.objects.filter(person=org.rep_a).update(end=dt.date(2025, 12, 31))
    PlanAssignment.objects.create(person=org.rep_a, plan=later, start=dt.date(2026, 1, 1))
    response = client_for(org.ops).post(
        reverse("org:person_deactivate", args=[org.rep_a.pk]),
        {"end_date": "2025-06-30", "successor": org.rep_b.pk, "reason": "left"},
    )
    assert "assigned AE plan 2026 from 2026-01-01, after their last day 2025-06-30" in page_errors(response)
    assert Deal.objects.filter(owner=org.rep_a).count() == 3  # the deals moved in the same transaction: rolled back
    org.rep_a.refresh_from_db()
    assert org.rep_a.is_active


def test_a_leaving_manager_s_reports_move_to_the_chosen_manager(client_for, org):
    client = client_for(org.ops)
    url = reverse("org:person_deactivate", args=[org.manager_east.pk])
    page = client.get(url).content.decode()
    select = select_html(page, "reports_to")
    assert f'value="{org.manager_west.pk}"' in select and f'value="{org.manager_east.pk}"' not in select
    response = client.post(url, {"end_date": "2025-06-30", "reports_to": "", "reason": "left"})
    assert "Their direct reports now report to" in page_errors(response)  # the field, required
    assert "This field is required." in page_errors(response)
    response = client.post(url, {"end_date": "2025-06-30", "reports_to": org.manager_west.pk, "reason": "left"},
                           follow=True)  # fmt: skip
    assert f"2 direct reports now report to {org.manager_west.display_name}." in page_errors(response)
    assert set(User.objects.filter(manager=org.manager_west).values_list("username", flat=True)) == {
        "rep_a", "rep_b", "rep_c"}  # fmt: skip
    moved = AuditEvent.objects.get(entity_id=str(org.rep_a.pk), action="update")
    assert moved.changes == {"manager": [org.manager_east.pk, org.manager_west.pk]} and moved.actor == org.ops


def test_a_leaving_manager_s_reports_cannot_move_inside_their_own_team(org):
    from salesops.api import DomainError
    from salesops.org.services import person_deactivate

    User.objects.filter(pk=org.rep_a.pk).update(is_manager=True)
    with pytest.raises(DomainError, match="reports to"):
        person_deactivate(actor=org.ops, person=org.manager_east, end_date=dt.date(2025, 6, 30),
                          reports_to=User.objects.get(pk=org.rep_a.pk), reason="left")  # fmt: skip


def test_an_old_set_password_link_of_a_leaver_is_dead(client, org):
    from salesops.org.services import person_deactivate, set_password_path

    path = set_password_path(org.rep_c)
    person_deactivate(actor=org.ops, person=org.rep_c, end_date=dt.date(2025, 6, 30), reason="left")
    assert 'data-testid="link-invalid"' in client.get(path, follow=True).content.decode()


# ------------------------------------------------------------------------------------------ who may do what
@pytest.mark.parametrize("who", ["rep_a", "manager_east", "director", "finance"])
def test_only_sales_ops_add_change_or_deactivate(client_for, org, who):
    user = getattr(org, who)
    client = client_for(user)
    target = org.rep_a  # in every scope asked: the rep herself, her managers, finance
    for url in (reverse("org:person_add"), reverse("org:person_deactivate", args=[target.pk]),
                reverse("org:person_edit", args=[target.pk])):  # fmt: skip
        assert client.get(url).status_code == 403, url
        assert client.post(url, add_form(org) | {"end_date": "2025-06-30", "reason": "x"}).status_code == 403, url
    assert client.post(reverse("org:person_send_link", args=[target.pk])).status_code == 403
    assert not User.objects.filter(username="nina").exists()
    org.rep_a.refresh_from_db()
    assert org.rep_a.is_active
    detail = client.get(reverse("org:person_detail", args=[target.pk])).content.decode()
    assert "Deactivate" not in detail and "Send set-password link" not in detail
    if who != "rep_a":
        assert 'data-testid="add-person"' not in client.get(reverse("org:person_list")).content.decode()


def test_out_of_scope_person_is_not_found_before_forbidden(client_for, org):
    client = client_for(org.manager_east)
    assert client.get(reverse("org:person_deactivate", args=[org.rep_c.pk])).status_code == 404
    assert client.post(reverse("org:person_send_link", args=[org.rep_c.pk])).status_code == 404


def test_sales_ops_resend_a_link(client_for, org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client_for(org.ops).post(reverse("org:person_send_link", args=[org.rep_c.pk]))
    assert mail.outbox[0].to == [org.rep_c.email]


# ------------------------------------------------------------------------------------------------------ API
def test_api_creates_a_person_with_a_first_password_who_gets_a_token(api_client_for, org):
    response = api_client_for(org.ops).post(
        "/api/v1/people/",
        {"username": "omar", "first_name": "Omar", "last_name": "Haddad", "email": "omar@example.com",
         "is_rep": True, "manager": org.manager_west.pk, "start_date": "2025-02-01", "password": STRONG},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    assert "password" not in response.json()
    token = APIClient().post("/api/v1/auth/token/", {"username": "omar", "password": STRONG})
    assert token.status_code == 200
    me = APIClient(HTTP_AUTHORIZATION=f"Token {token.json()['token']}").get("/api/v1/me/")
    assert me.json()["manager"] == org.manager_west.pk


def test_api_creates_a_person_by_link(api_client_for, org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(org.ops).post(
            "/api/v1/people/",
            {"username": "omar", "first_name": "Omar", "email": "omar@example.com", "is_rep": True,
             "send_set_password_link": True},
            format="json",
        )  # fmt: skip
    assert response.status_code == 201
    assert mail.outbox[0].to == ["omar@example.com"] and "/org/set-password/" in mail.outbox[0].body


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"username": "Rep_A"}, "username", "is taken"),
        ({"email": "REP_B@example.com"}, "email", "is already"),
        ({"password": "12345678"}, "password", "entirely numeric"),
        ({"password": STRONG, "send_set_password_link": True}, "non_field_errors", "not both"),
    ],
)
def test_api_refuses_a_person_with_a_clear_message(api_client_for, org, body, field, message):
    payload = {"username": "omar", "first_name": "Omar", "email": "omar@example.com", "is_rep": True} | body
    response = api_client_for(org.ops).post("/api/v1/people/", payload, format="json")
    assert response.status_code == 400
    assert message in str(response.json()[field] if field in response.json() else response.json())


def test_api_deactivates_a_leaver(api_client_for, org, leaver_book):
    response = api_client_for(org.ops).post(
        f"/api/v1/people/{org.rep_a.pk}/deactivate/",
        {"end_date": "2025-06-30", "successor": org.rep_b.pk, "reason": "left"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["is_active"] is False and body["end_date"] == "2025-06-30"
    assert any("2 open deals moved" in line for line in body["handed_over"])
    assert Deal.objects.filter(owner=org.rep_b).count() == 2


def test_api_refuses_a_successor_who_owns_no_deals(api_client_for, org, leaver_book):
    response = api_client_for(org.ops).post(
        f"/api/v1/people/{org.rep_a.pk}/deactivate/",
        {"end_date": "2025-06-30", "successor": org.finance.pk, "reason": "left"},
        format="json",
    )
    assert response.status_code == 400
    assert "is neither a rep nor a manager" in response.json()["detail"]
    assert Deal.objects.filter(owner=org.rep_a).count() == 3


def test_api_refuses_deactivating_by_patch_and_others_everything(api_client_for, org):
    ops = api_client_for(org.ops)
    response = ops.patch(f"/api/v1/people/{org.rep_a.pk}/", {"is_active": False}, format="json")
    assert response.status_code == 400 and "/deactivate/" in response.json()["detail"]
    for user in (org.rep_a, org.manager_east, org.finance):
        client = api_client_for(user)
        body = {"end_date": "2025-06-30", "successor": org.rep_b.pk, "reason": "left"}
        assert client.post(f"/api/v1/people/{org.rep_a.pk}/deactivate/", body).status_code == 403
        assert client.post(f"/api/v1/people/{org.rep_a.pk}/send-set-password-link/").status_code == 403
        assert client.post("/api/v1/people/", {"username": "x", "password": STRONG}).status_code == 403
    org.rep_a.refresh_from_db()
    assert org.rep_a.is_active and not User.objects.filter(username="x").exists()


def test_api_token_of_a_leaver_stops_working(org):
    from salesops.org.services import api_token_issue, person_deactivate

    client = APIClient(HTTP_AUTHORIZATION=f"Token {api_token_issue(owner=org.rep_c).key}")
    assert client.get("/api/v1/me/").status_code == 200
    person_deactivate(actor=org.ops, person=org.rep_c, end_date=dt.date(2025, 6, 30), reason="left")
    assert client.get("/api/v1/me/").status_code in (401, 403)


# ------------------------------------------------------------------------------------------------ org chart
def chart_people(html: str) -> list[str]:
    return re.findall(r'data-person="([^"]+)"', html)


def test_sales_ops_and_finance_see_the_whole_tree_nested_with_counts(client_for, org):
    for user in (org.ops, org.finance):
        html = client_for(user).get(reverse("org:chart")).content.decode()
        assert set(chart_people(html)) == {"director", "mgr_east", "mgr_west", "rep_a", "rep_b", "rep_c", "fin",
                                            "ops_admin"}  # fmt: skip
        director = html[html.index('data-person="director"') :]
        # the director's branch holds both managers, and each manager their reps
        assert director.index('data-person="mgr_east"') < director.index('data-person="rep_a"')
        assert "2 direct, 5 in all" in director.split("</summary>")[0]
        assert f'href="{reverse("org:person_detail", args=[org.rep_c.pk])}"' in html


def test_a_manager_sees_their_subtree_and_a_rep_their_line(client_for, org):
    html = client_for(org.manager_east).get(reverse("org:chart")).content.decode()
    assert chart_people(html)[0] == "mgr_east" and set(chart_people(html)) == {"mgr_east", "rep_a", "rep_b"}
    html = client_for(org.rep_b).get(reverse("org:chart")).content.decode()
    assert chart_people(html) == ["director", "mgr_east", "rep_b"]
    # named, not linked: a rep may not open their managers' pages
    assert reverse("org:person_detail", args=[org.manager_east.pk]) + '"' not in html
    assert reverse("org:person_detail", args=[org.rep_b.pk]) in html
    assert client_for(org.rep_b).get(reverse("org:person_detail", args=[org.manager_east.pk])).status_code == 404


def test_inactive_people_leave_the_chart_unless_asked(client_for, org):
    User.objects.filter(pk=org.rep_c.pk).update(is_active=False)
    client = client_for(org.ops)
    assert "rep_c" not in chart_people(client.get(reverse("org:chart")).content.decode())
    assert "rep_c" in chart_people(client.get(reverse("org:chart"), {"inactive": "1"}).content.decode())


def test_the_chart_is_in_the_navigation_and_costs_few_queries(client_for, org, django_assert_max_num_queries):
    client = client_for(org.rep_a)
    assert 'data-nav="chart"' in client.get(reverse("home")).content.decode()
    client = client_for(org.ops)
    with django_assert_max_num_queries(12):
        client.get(reverse("org:chart"))


# ------------------------------------------------------------------------ taking over an account is refused
class FailingMailBackend(BaseEmailBackend):
    """A mail server that refuses every message, as an SMTP server that is down or rejects the sender does."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPSenderRefused(550, b"relay denied", "salesops@example.com")


@pytest.fixture
def root(db):
    return UserFactory.create(username="root", is_rep=False, is_superuser=True, is_staff=True)


def test_sales_ops_cannot_take_over_a_superuser_or_finance_account(
    api_client_for, client_for, org, root, django_capture_on_commit_callbacks
):
    api = api_client_for(org.ops)
    for target, message in ((root, "is a superuser"), (org.finance, "holds the finance role")):
        patch = api.patch(f"/api/v1/people/{target.pk}/", {"email": "ops.owns.this@example.com"}, format="json")
        assert patch.status_code == 403 and message in patch.json()["detail"], patch.json()
        with django_capture_on_commit_callbacks(execute=True):
            link = api.post(f"/api/v1/people/{target.pk}/send-set-password-link/")
        assert link.status_code == 403 and message in link.json()["detail"]
        page = client_for(org.ops)
        edit = page.post(reverse("org:person_edit", args=[target.pk]),
                         person_form_data(target, email="ops.owns.this@example.com"))  # fmt: skip
        assert edit.status_code == 403 and message in page_errors(edit)
        with django_capture_on_commit_callbacks(execute=True):
            resend = page.post(reverse("org:person_send_link", args=[target.pk]))
        assert resend.status_code == 403 and message in page_errors(resend)
        assert "Send set-password link" not in page.get(reverse("org:person_detail", args=[target.pk])).content.decode()
        form = page.get(reverse("org:person_edit", args=[target.pk])).content.decode()
        assert re.search(r'<input type="email" name="email"[^>]*readonly', form) and message in form
        target.refresh_from_db()
        assert target.email == f"{target.username}@example.com" and target.has_usable_password()
    assert not mail.outbox
    assert not AuditEvent.objects.filter(action__startswith="password_link").exists()


def test_who_may_reset_whom(api_client_for, org, root, django_capture_on_commit_callbacks):
    """A person's e-mail and set-password link are for someone holding every role they hold beyond rep and
    manager: a sales-ops colleague for sales ops, finance-and-sales-ops for finance, a superuser for anyone."""
    colleague = UserFactory.create(username="ops2", is_rep=False, is_sales_ops=True)
    fin_ops = UserFactory.create(username="finops", is_rep=False, is_finance=True, is_sales_ops=True)
    allowed = [(org.ops, org.rep_a), (org.ops, org.manager_east), (org.ops, colleague), (org.ops, org.ops),
               (fin_ops, org.finance), (root, fin_ops), (root, org.finance)]  # fmt: skip
    for actor, target in allowed:
        api = api_client_for(actor)
        new = f"{target.username}.new@example.com"
        assert api.patch(f"/api/v1/people/{target.pk}/", {"email": new}, format="json").status_code == 200
        with django_capture_on_commit_callbacks(execute=True):
            sent = api.post(f"/api/v1/people/{target.pk}/send-set-password-link/")
        assert sent.status_code == 202 and sent.json()["link_sent"] is True, (actor, target)
        assert mail.outbox[-1].to == [new]
    for actor, target in ((colleague, fin_ops), (fin_ops, root)):
        assert api_client_for(actor).post(f"/api/v1/people/{target.pk}/send-set-password-link/").status_code == 403


def test_sales_ops_give_or_take_only_roles_they_hold_besides_rep_and_manager(api_client_for, client_for, org, root):
    api = api_client_for(org.ops)
    for target in (org.ops, org.rep_a):
        refused = api.patch(f"/api/v1/people/{target.pk}/", {"is_finance": True}, format="json")
        assert refused.status_code == 403 and "finance role" in refused.json()["detail"]
        target.refresh_from_db()
        assert not target.is_finance
    stripped = api.patch(f"/api/v1/people/{org.finance.pk}/", {"is_finance": False, "is_rep": True}, format="json")
    assert stripped.status_code == 403 and "finance role" in stripped.json()["detail"]
    org.finance.refresh_from_db()
    assert org.finance.roles == ["finance"]
    edit = client_for(org.ops).post(reverse("org:person_edit", args=[org.rep_a.pk]),
                                    person_form_data(org.rep_a, is_finance=True))  # fmt: skip
    assert edit.status_code == 403 and "finance role" in page_errors(edit)
    add = client_for(org.ops).post(reverse("org:person_add"), add_form(org, is_finance="on"))
    assert add.status_code == 403 and "finance role" in page_errors(add)
    created = api.post("/api/v1/people/", {"username": "omar", "first_name": "Omar", "is_finance": True,
                                           "password": STRONG}, format="json")  # fmt: skip
    assert created.status_code == 403 and not User.objects.filter(username__in=["nina", "omar"]).exists()
    # Rep, manager and the actor's own sales-ops role may be given; finance by finance; anything by a superuser.
    body = {"is_manager": True, "is_sales_ops": True}
    assert api.patch(f"/api/v1/people/{org.rep_a.pk}/", body, format="json").status_code == 200
    assert api_client_for(root).patch(f"/api/v1/people/{org.rep_b.pk}/", {"is_finance": True},
                                      format="json").status_code == 200  # fmt: skip
    User.objects.filter(pk=org.ops.pk).update(is_finance=True)
    assert api_client_for(User.objects.get(pk=org.ops.pk)).patch(
        f"/api/v1/people/{org.rep_c.pk}/", {"is_finance": True}, format="json").status_code == 200  # fmt: skip
    assert AuditEvent.objects.filter(entity_id=str(org.rep_a.pk), action="update", actor=org.ops).count() == 1


# --------------------------------------------------------------------------------- a mail that cannot be sent
def test_adding_a_person_by_link_when_the_mail_fails_keeps_them_and_says_so(client_for, org, settings):
    settings.EMAIL_BACKEND = f"{__name__}.FailingMailBackend"
    response = client_for(org.ops).post(reverse("org:person_add"), add_form(org, sign_in="link", password=""),
                                        follow=True)  # fmt: skip
    nina = User.objects.get(username="nina")
    assert response.redirect_chain[-1][0] == reverse("org:person_detail", args=[nina.pk])
    assert ("Added Nina Okafor, but the mail with their set-password link could not be sent: "
            "send a new link from this page.") in page_errors(response)  # fmt: skip
    failed = AuditEvent.objects.get(entity_id=str(nina.pk), action="password_link_failed")
    assert failed.actor == org.ops and failed.changes["email"] == [None, "nina.okafor@example.com"]
    assert "relay denied" in failed.reason
    assert not AuditEvent.objects.filter(entity_id=str(nina.pk), action="password_link").exists()
    # Once the mail server is back, the resend from her page works.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    resent = client_for(org.ops).post(reverse("org:person_send_link", args=[nina.pk]), follow=True)
    assert "A link to choose a password was e-mailed to nina.okafor@example.com." in page_errors(resent)
    assert mail.outbox[0].to == ["nina.okafor@example.com"]


def test_resending_a_link_when_the_mail_fails_says_so(client_for, api_client_for, org, settings):
    settings.EMAIL_BACKEND = f"{__name__}.FailingMailBackend"
    page = client_for(org.ops).post(reverse("org:person_send_link", args=[org.rep_c.pk]), follow=True)
    assert page.status_code == 200
    assert f"The mail to {org.rep_c.email} could not be sent" in page_errors(page)
    api = api_client_for(org.ops).post(f"/api/v1/people/{org.rep_c.pk}/send-set-password-link/")
    assert api.status_code == 503 and api.json()["link_sent"] is False and "could not be sent" in api.json()["detail"]
    assert AuditEvent.objects.filter(entity_id=str(org.rep_c.pk), action="password_link_failed").count() == 2


def test_api_adding_a_person_by_link_when_the_mail_fails(api_client_for, org, settings):
    settings.EMAIL_BACKEND = f"{__name__}.FailingMailBackend"
    response = api_client_for(org.ops).post(
        "/api/v1/people/",
        {"username": "omar", "first_name": "Omar", "email": "omar@example.com", "is_rep": True,
         "send_set_password_link": True},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    assert response.json()["link_sent"] is False and "send-set-password-link" in response.json()["detail"]
    omar = User.objects.get(username="omar")
    assert AuditEvent.objects.filter(entity_id=str(omar.pk), action="password_link_failed").exists()


# ------------------------------------------------------------------------- deactivation kills earlier links
def test_a_link_mailed_before_deactivation_stays_dead_after_reactivation(client, client_for, org):
    from salesops.org.services import person_deactivate, set_password_path

    path = set_password_path(org.rep_c)
    person_deactivate(actor=org.ops, person=org.rep_c, end_date=dt.date(2025, 6, 30), reason="left")
    form = person_form_data(org.rep_c, is_active=True, end_date="", reason="came back")
    assert client_for(org.ops).post(reverse("org:person_edit", args=[org.rep_c.pk]), form).status_code == 302
    org.rep_c.refresh_from_db()
    assert org.rep_c.is_active and not org.rep_c.has_usable_password()
    client.logout()
    assert 'data-testid="link-invalid"' in client.get(path, follow=True).content.decode()
    assert not signs_in("rep_c", "pw")  # their old password went too: they need a new link
