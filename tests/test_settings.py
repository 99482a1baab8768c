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
