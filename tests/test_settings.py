from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_production_settings_refuse_to_start_naming_what_is_missing():
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SECRET_KEY"}}
    env["DJANGO_SETTINGS_MODULE"] = "salesops.settings.production"
    env.pop("DJANGO_ALLOWED_HOSTS", None)
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "DATABASE_URL, DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS" in result.stderr


def test_production_settings_refuse_the_example_secret_key_and_short_ones():
    example = next(
        line.split("=", 1)[1]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line.startswith("DJANGO_SECRET_KEY=")
    )
    for key in (example, "s3cr3t-but-short"):
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="salesops.settings.production", DJANGO_SECRET_KEY=key,
            DJANGO_ALLOWED_HOSTS="hub.example.com",
        )  # fmt: skip
        result = subprocess.run(
            [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert result.returncode != 0
        assert "DJANGO_SECRET_KEY must be a long random value of your own" in result.stderr


def test_the_image_build_passes_the_production_settings():
    """The Dockerfile runs collectstatic under the production settings with throwaway values: they must pass
    the settings' own checks, or the image does not build."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith("RUN") and "collectstatic" in line)
    values = dict(word.split("=", 1) for word in line.split() if "=" in word and word.split("=", 1)[0].isupper())
    assert {"DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"} <= set(values)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(values, DJANGO_SETTINGS_MODULE="salesops.settings.production")
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_production_settings_turn_demo_logins_off():
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="salesops.settings.production",
        DJANGO_SECRET_KEY="x" * 50,
        DJANGO_ALLOWED_HOSTS="hub.example.com",
    )
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEMO_LOGINS_ALLOWED, settings.DEBUG)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.stdout.strip() == "False False", result.stderr


def _production_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="salesops.settings.production",
        DJANGO_SECRET_KEY="k3y-" + "Zq9!xR2@vL7#pT4$" * 4,  # long and varied, as Django's deploy check wants
        DJANGO_ALLOWED_HOSTS="hub.example.com",
        # Nothing listens on port 1: the deploy check (and the API schema it builds) must not need either.
        DATABASE_URL="postgres://salesops:salesops@127.0.0.1:1/salesops",
        REDIS_URL="redis://127.0.0.1:1/0",
        **overrides,
    )
    return env


def test_check_deploy_under_production_settings_reports_nothing():
    code = (
        "import django; django.setup(); from django.core.management import call_command; "
        "call_command('check', '--deploy', '--fail-level', 'WARNING')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_production_env(), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    # No issue at all, none of them silenced (SILENCED_SYSTEM_CHECKS would hide a warning, not fix it), and
    # nothing else said: the schema the API serves is built by the check too, and its warnings go to stderr.
    assert result.stdout.strip() == "System check identified no issues (0 silenced).", result.stdout + result.stderr
    assert result.stderr == "", result.stderr


def test_production_is_https_only_by_default_and_a_plain_http_trial_can_say_so():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD,"
        " s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
    )

    def read(env: dict[str, str]) -> str:
        result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
        return result.stdout.strip() or result.stderr

    assert read(_production_env()) == "True 31536000 True True True True"
    plain_http = _production_env(  # what .env.example sets for docker compose on http://localhost
        DJANGO_SECURE_SSL_REDIRECT="false", DJANGO_SECURE_HSTS_SECONDS="0", DJANGO_SECURE_COOKIES="false"
    )
    assert read(plain_http) == "False 0 True True False False"


def test_bench_data_refuses_to_run_under_production_settings_before_touching_the_database():
    code = "import django; django.setup(); from django.core.management import call_command; call_command('bench_data', '--scale', 'tiny', '--reset')"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_production_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "CommandError: bench_data refuses to run under salesops.settings.production" in result.stderr
    assert "truncates the people and pipeline tables" in result.stderr
    assert "connection" not in result.stderr.lower()  # refused before any query (nothing listens on the port)


def test_database_options_keep_the_urls_own_and_turn_jit_off(monkeypatch, db):
    from django.db import connection

    from salesops.settings.base import database_from_env

    monkeypatch.setenv(
        "DATABASE_URL",
        "postgres://u@db.example.com:5432/hub?sslmode=require&connect_timeout=5&options=-c%20work_mem%3D8MB",
    )
    options = database_from_env()["OPTIONS"]
    assert isinstance(options, dict)
    assert options["sslmode"] == "require" and options["connect_timeout"] == 5
    assert options["options"] == "-c work_mem=8MB -c jit=off"
    assert options["pool"]["max_size"] == 10
    # The tests' own connection has it too (their settings drop only the pool).
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
