"""`manage.py plan_quotas SCENARIO.json`: capacity, gap, hires needed and every person's quota per period of
a quota scenario (docs/planning.md, "Scenario JSON"), printed as JSON.

It touches no stored data: no model is imported and no database connection is opened (system checks are
skipped too, since some of them query the database). A malformed scenario exits with status 2 and one message
naming the record, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from planning.engine.scenario_json import ScenarioInputError, run_json

# Exit status for malformed input (issue 15: "malformed input exits 2 naming the record").
MALFORMED = 2


class Command(BaseCommand):
    help = "Plan capacity and quotas from a scenario JSON file ('-' reads stdin) and print the result as JSON."
    requires_system_checks: list[str] = []  # some checks query the database; planning a scenario must not

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("scenario", help="Path of the scenario JSON, or '-' for standard input.")

    def handle(self, *args: Any, scenario: str, **options: Any) -> None:
        try:
            text = sys.stdin.buffer.read() if scenario == "-" else Path(scenario).read_bytes()
        except OSError as exc:
            raise CommandError(f"scenario {scenario}: cannot be read ({exc.strerror})", returncode=MALFORMED) from None
        try:
            output = run_json(text)
        except ScenarioInputError as exc:
            raise CommandError(str(exc), returncode=MALFORMED) from None
        self.stdout.write(json.dumps(output, indent=2))
