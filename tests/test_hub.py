"""`make run`'s launcher, for real: embedded Postgres and Redis, migrations, demo data, web, worker and
beat, /healthz 200, then Ctrl-C stops everything; a second start reuses the data."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.worker


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(var_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(SALESOPS_VAR_DIR=str(var_dir), PORT=str(port))
    return subprocess.Popen(
        [sys.executable, "-m", "salesops.hub", "run"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip


def _wait_for_health(port: int, proc: subprocess.Popen[str], limit: float = 240) -> dict:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(1)
    raise AssertionError("the hub did not answer /healthz with 200 in time")


def _interrupt(proc: subprocess.Popen[str]) -> str:
    os.killpg(proc.pid, signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    return output


@pytest.fixture
def var_dir() -> Iterator[Path]:
    """Where the hub keeps its data: a directory of its own under the system's temporary directory, not pytest's
    (whose per-user directory every pytest run resets to owner-only; the embedded Postgres runs as another user and
    must reach its data, so another pytest run on the machine could lock it out mid-test)."""
    path = Path(tempfile.mkdtemp(prefix="salesops-hub-"))
    yield path / "var"
    shutil.rmtree(path, ignore_errors=True)


def test_hub_runs_answers_healthz_and_stops_cleanly(var_dir: Path):
    port = _free_port()
    proc = _start(var_dir, port)
    try:
        body = _wait_for_health(port, proc)
    finally:
        output = _interrupt(proc)
    assert body["status"] == "ok"
    assert proc.returncode == 0, output
    assert f"salesops is up at http://127.0.0.1:{port}" in output
    for login in ("rep", "manager", "finance", "ops"):
        assert f"    {login} " in output
    assert "Demo company loaded" in output
    assert "Reporting facts refreshed: {'kind': 'full'" in output  # the dashboards have data from the start
    redis_port = int((var_dir / "redis" / "port").read_text())
    assert redis_port != 6379
    # Everything it started is gone: nothing answers on the web port any more.
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    assert not (var_dir / "pg" / "postmaster.pid").exists()

    # A second run reuses the data: the demo company is not loaded again.
    proc = _start(var_dir, port)
    try:
        _wait_for_health(port, proc)
    finally:
        output = _interrupt(proc)
    assert "demo company not loaded" in output
    assert proc.returncode == 0, output
