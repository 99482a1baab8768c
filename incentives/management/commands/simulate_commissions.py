"""`manage.py simulate_commissions SCENARIO.json`: the what-if simulator.

Runs the commission engine on an in-memory scenario and prints the spec's output JSON. It touches no
stored data: no model is imported and no database connection is opened (system checks are skipped too,
so nothing asks the database anything). A malformed scenario exits with status 2 and one message naming
the record, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incentives.engine import EngineInputError
from incentives.scenario import ScenarioError, simulate

# Exit status for malformed input (the spec's "exit status 2").
MALFORMED = 2


class Command(BaseCommand):
    help = "Run the commission engine on a scenario JSON file ('-' reads stdin) and print the payouts as JSON."
    requires_system_checks: list[str] = []  # some checks query the database; the simulator must not

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("scenario", help="Path of the scenario JSON, or '-' for standard input.")
        parser.add_argument(
            "--lines", action="store_true", help="Add each payout's statement lines (with their trace) to the output."
        )

    def handle(self, *args: Any, scenario: str, lines: bool = False, **options: Any) -> None:
        try:
            text = sys.stdin.buffer.read() if scenario == "-" else Path(scenario).read_bytes()
        except OSError as exc:
            raise CommandError(f"scenario {scenario}: cannot be read ({exc.strerror})", returncode=MALFORMED) from None
        try:
            output = simulate(text, lines=lines)
        except (ScenarioError, EngineInputError) as exc:
            raise CommandError(str(exc), returncode=MALFORMED) from None
        self.stdout.write(json.dumps(output, indent=2))
