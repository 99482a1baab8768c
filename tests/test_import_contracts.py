"""The import-linter contracts of `pyproject.toml` hold (docs/architecture.md): every app's models are private to
it, no API module imports a page view, selectors import no services or tasks, nothing imports bench, the kernel,
the engine and the math modules stay plain Python. Run here so `make test` (and CI) fails when one breaks, not
only `lint-imports` by hand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# The contracts this suite relies on, by name: renaming or dropping one is a decision to make here too.
BOUNDARY_CONTRACTS = [
    "The pipeline's models are private to the pipeline",
    "Incentives' models are private to incentives",
    "Forecasting's models are private to forecasting",
    "Reporting's models are private to reporting",
    "No API module imports a page view",
    "Selectors never import services or tasks",
    "Nothing imports bench",
    "The commission engine has no ORM inside",
]


def test_every_import_contract_is_kept():
    # --no-cache: a cache from another checkout state must not answer for this one.
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    kept = {line.rsplit(" KEPT", 1)[0] for line in result.stdout.splitlines() if " KEPT" in line}
    assert set(BOUNDARY_CONTRACTS) <= kept, sorted(set(BOUNDARY_CONTRACTS) - kept)
