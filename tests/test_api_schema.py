"""The OpenAPI schema stays clean: drf-spectacular generates it without a warning or an error (no colliding
component names, every field's type known), and the result validates against the OpenAPI specification."""

from __future__ import annotations

from pathlib import Path

from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS


def test_schema_generates_without_warnings_and_validates(tmp_path: Path) -> None:
    target = tmp_path / "schema.yaml"
    GENERATOR_STATS.reset()  # only this generation's warnings count
    # --fail-on-warn turns any warning (a name collision, an unknown field type, ...) into a failure.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert target.read_text().startswith("openapi: 3.0")
