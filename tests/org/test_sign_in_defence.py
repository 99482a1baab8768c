"""Sign-in defence: failed sign-ins are limited per account and per address on every way in (the sign-in
page, the admin, the API token endpoint); API tokens expire, are listed and revoked by their owner, and die
with a password change or a deactivation (docs/rules.md, "Signing in and API tokens")."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from freezegun import freeze_time
from rest_framework.test import APIClient

from salesops.org.models import ApiToken
from salesops.org.services import api_token_issue, person_deactivate, person_set_password

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_cache")]

ACCOUNT_LOCKED = "Too many failed sign-ins for this account: try again in 15 minutes."
START = "2030-03-04 09:00:00"  # on a minute: the window slides by minutes


@pytest.fixture(autouse=True)
def _urls_loaded() -> None:
    """Import every view (and pandas with them) before a test freezes the clock: pandas' C code crashes when
    first imported under freezegun."""
    reverse("home")


def token_post(username: str, password: str, address: str = "127.0.0.1"):
    return APIClient(REMOTE_ADDR=address).post("/api/v1/auth/token/", {"username": username, "password": password})


def fail(username: str, times: int, address: str = "127.0.0.1") -> None:
    for _ in range(times):
        assert token_post(username, "wrong", address).status_code == 400


@freeze_time(START)
def test_five_wrong_passwords_then_the_right_one_is_refused_with_429(org):
    fail("rep_a", 5)
    response = token_post("rep_a", "pw")
    assert response.status_code == 429
    assert response.json()["detail"] == ACCOUNT_LOCKED
    assert response["Retry-After"] == "900"
    assert not ApiToken.objects.filter(user=org.rep_a).exists()


@freeze_time(START)
def test_the_limit_counts_whatever_the_capitals_of_the_username(org):
    fail("REP_A", 3)
    fail("rep_a", 2)
    assert token_post("rep_a", "pw").status_code == 429


@freeze_time(START)
def test_the_sign_in_page_refuses_the_right_password_after_five_failures(client, org):
    for _ in range(5):
        response = client.post(reverse("login"), {"username": "rep_a", "password": "wrong"})
        assert "correct username and password" in response.content.decode()
    response = client.post(reverse("login"), {"username": "rep_a", "password": "pw"})
    assert ACCOUNT_LOCKED in response.content.decode()
    assert client.get("/").status_code == 302  # still signed out


@freeze_time(START)
def test_the_admin_sign_in_page_shares_the_count(client, org):
    org.ops.is_staff = True
    org.ops.save(update_fields=["is_staff"])
    for _ in range(3):
        client.post("/admin/login/", {"username": "ops_admin", "password": "wrong"})
    fail("ops_admin", 2)  # the same account's failures on the token endpoint count too
    response = client.post("/admin/login/", {"username": "ops_admin", "password": "pw", "next": "/admin/"})
    assert ACCOUNT_LOCKED in response.content.decode()
    assert "_auth_user_id" not in client.session


@freeze_time(START)
def test_a_success_clears_the_account_count(org):
    fail("rep_a", 4)
    assert token_post("rep_a", "pw").status_code == 200
    fail("rep_a", 4)
    assert token_post("rep_a", "pw").status_code == 200


def test_the_account_may_sign_in_again_once_the_window_has_passed(org):
    with freeze_time(START) as clock:
        fail("rep_a", 5)
        clock.tick(dt.timedelta(minutes=14))
        response = token_post("rep_a", "pw")
        assert response.status_code == 429
        assert response.json()["detail"] == "Too many failed sign-ins for this account: try again in 1 minute."
        clock.tick(dt.timedelta(minutes=1))
        assert token_post("rep_a", "pw").status_code == 200


@freeze_time(START)
def test_another_account_from_the_same_address_works_until_the_address_limit(org, settings):
    settings.SIGN_IN_FAILURES_PER_ADDRESS = 20
    fail("rep_a", 5)
    assert token_post("rep_a", "pw").status_code == 429
    assert token_post("rep_b", "pw").status_code == 200  # 5 failures from here: the address may go on
    for guessed in ("nobody1", "nobody2", "nobody3"):
        fail(guessed, 5)  # 20 failures from 127.0.0.1 now
    response = token_post("rep_c", "pw")
    assert response.status_code == 429
    assert response.json()["detail"] == "Too many failed sign-ins from this address: try again in 15 minutes."
    assert token_post("rep_c", "pw", address="10.0.0.9").status_code == 200  # another address is not held back


@freeze_time(START)
def test_behind_a_trusted_proxy_the_forwarded_client_address_is_limited_not_the_proxy(org, settings):
    settings.SIGN_IN_FAILURES_PER_ADDRESS = 3
    settings.SIGN_IN_TRUSTED_PROXIES = 1
    proxy = "10.0.0.1"

    def through_proxy(username: str, password: str, client: str, spoofed: str = ""):
        forwarded = f"{spoofed}, {client}" if spoofed else client
        return APIClient(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=forwarded).post(
            "/api/v1/auth/token/", {"username": username, "password": password}
        )

    for guessed in ("nobody1", "nobody2", "nobody3"):
        assert through_proxy(guessed, "wrong", "203.0.113.7").status_code == 400
    # The guesser is held back, whatever they write at the left of X-Forwarded-For...
    assert through_proxy("rep_a", "pw", "203.0.113.7").status_code == 429
    assert through_proxy("rep_a", "pw", "203.0.113.7", spoofed="198.51.100.1").status_code == 429
    # ...and everyone else behind the same proxy signs in as usual.
    assert through_proxy("rep_b", "pw", "198.51.100.20").status_code == 200


@freeze_time(START)
def test_without_trusted_proxies_a_forwarded_header_is_ignored(org, settings):
    settings.SIGN_IN_FAILURES_PER_ADDRESS = 3
    for n, guessed in enumerate(("nobody1", "nobody2", "nobody3")):
        response = APIClient(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").post(
            "/api/v1/auth/token/", {"username": guessed, "password": "wrong"}
        )
        assert response.status_code == 400
    assert token_post("rep_b", "pw").status_code == 429  # a rotating header did not spread the count


# ------------------------------------------------------------------------------------------------ API tokens
def test_a_token_answers_until_it_expires_then_401(org, settings):
    settings.API_TOKEN_LIFETIME_DAYS = 30
    with freeze_time(START) as clock:
        response = token_post("rep_a", "pw")
        assert response.json()["expires"].startswith("2030-04-03T09:00:00")
        client = APIClient(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
        assert client.get("/api/v1/me/").json()["username"] == "rep_a"
        clock.tick(dt.timedelta(days=30))
        expired = client.get("/api/v1/me/")
        assert expired.status_code == 401
        assert "expired on 2030-04-03 09:00" in expired.json()["detail"]


def test_owner_lists_their_tokens_without_the_keys_and_revokes_one(org):
    with freeze_time(START):
        laptop = api_token_issue(owner=org.rep_a, name="laptop")
        script = api_token_issue(owner=org.rep_a, name="nightly export")
        others = api_token_issue(owner=org.rep_b)
    client = APIClient(HTTP_AUTHORIZATION=f"Token {laptop.key}")
    rows = client.get("/api/v1/auth/tokens/").json()["results"]
    assert [row["name"] for row in rows] == ["nightly export", "laptop"]
    assert rows[1]["prefix"] == laptop.key[:8] and rows[1]["last_used"] is not None  # this very call used it
    assert rows[0]["last_used"] is None and rows[0]["created"].startswith("2030-03-04T09:00:00")
    assert all(script.key not in str(row) and laptop.key not in str(row) for row in rows)
    assert set(rows[0]) == {"id", "name", "prefix", "created", "last_used", "expires"}

    assert client.delete(f"/api/v1/auth/tokens/{others.token.pk}/").status_code == 404  # someone else's
    assert client.get(f"/api/v1/auth/tokens/{others.token.pk}/").status_code == 404
    assert APIClient(HTTP_AUTHORIZATION=f"Token {others.key}").get("/api/v1/me/").status_code == 200

    assert client.delete(f"/api/v1/auth/tokens/{script.token.pk}/").status_code == 204
    assert APIClient(HTTP_AUTHORIZATION=f"Token {script.key}").get("/api/v1/me/").status_code == 401
    assert [row["name"] for row in client.get("/api/v1/auth/tokens/").json()["results"]] == ["laptop"]


def test_a_password_changed_on_the_password_page_kills_the_tokens(client, org):
    issued = api_token_issue(owner=org.rep_a)
    client.force_login(org.rep_a)
    new = "Blue-Harbour-2031"
    response = client.post(reverse("password_change"),
                           {"old_password": "pw", "new_password1": new, "new_password2": new})  # fmt: skip
    assert response.status_code == 302
    assert APIClient(HTTP_AUTHORIZATION=f"Token {issued.key}").get("/api/v1/me/").status_code == 401
    assert not ApiToken.objects.filter(user=org.rep_a).exists()


def test_a_password_set_through_a_link_kills_the_tokens(org):
    issued = api_token_issue(owner=org.rep_a)
    person_set_password(person=org.rep_a, password="Blue-Harbour-2031")
    assert APIClient(HTTP_AUTHORIZATION=f"Token {issued.key}").get("/api/v1/me/").status_code == 401
    assert not ApiToken.objects.filter(user=org.rep_a).exists()


def test_a_password_changed_any_other_way_kills_the_tokens_too(org):
    """The admin's password form and `manage.py changepassword` call set_password and save, nothing else."""
    issued = api_token_issue(owner=org.rep_a)
    org.rep_a.set_password("Blue-Harbour-2031")
    org.rep_a.save()
    client = APIClient(HTTP_AUTHORIZATION=f"Token {issued.key}")
    assert client.get("/api/v1/me/").status_code == 401
    fresh = api_token_issue(owner=org.rep_a)  # signed in again with the new password
    rows = APIClient(HTTP_AUTHORIZATION=f"Token {fresh.key}").get("/api/v1/auth/tokens/").json()["results"]
    assert [row["id"] for row in rows] == [fresh.token.pk]


def test_a_deactivation_kills_the_tokens(org):
    issued = api_token_issue(owner=org.rep_c)
    client = APIClient(HTTP_AUTHORIZATION=f"Token {issued.key}")
    assert client.get("/api/v1/me/").status_code == 200
    person_deactivate(actor=org.ops, person=org.rep_c, end_date=dt.date(2030, 6, 30), reason="left")
    assert client.get("/api/v1/me/").status_code == 401
    assert not ApiToken.objects.filter(user=org.rep_c).exists()
