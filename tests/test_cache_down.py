"""Redis is the cache as well as the broker: while it is down, signing in and a job's progress page still
answer (the failure counts and progress figures are a courtesy and are skipped, with a warning logged)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

pytestmark = [pytest.mark.django_db]

DEAD_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:9/0",  # the discard port: nothing answers
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


@pytest.fixture
def dead_cache(settings):
    settings.CACHES = DEAD_CACHE  # Django's setting_changed handler rebuilds the cache connections


def test_signing_in_works_and_a_wrong_password_is_refused_while_the_cache_is_down(org, dead_cache, caplog):
    wrong = APIClient().post("/api/v1/auth/token/", {"username": "rep_a", "password": "wrong"})
    assert wrong.status_code == 400
    right = APIClient().post("/api/v1/auth/token/", {"username": "rep_a", "password": "pw"})
    assert right.status_code == 200 and right.json()["token"]
    page = APIClient().get(reverse("login"))
    assert page.status_code == 200
    signed_in = APIClient().post(reverse("login"), {"username": "rep_a", "password": "pw"})
    assert signed_in.status_code == 302
    assert "cache unreachable" in caplog.text


def test_a_running_import_shows_its_page_while_the_cache_is_down(org, client_for, dead_cache):
    from pipeline.models import ImportJob

    job = ImportJob.objects.create(created_by=org.ops, file_name="big.csv", file="imports/big.csv", status="running")
    page = client_for(org.ops).get(f"/pipeline/imports/{job.pk}/")
    assert page.status_code == 200
    assert "big.csv" in page.content.decode()
