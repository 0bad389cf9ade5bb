"""Embedded PostgreSQL for development and tests, used only when DATABASE_URL is unset.

`pgserver` ships PostgreSQL 16 in a wheel and serves it on a Unix socket inside the data
directory. This module starts it (or reuses a running one), makes sure the database exists,
and gives back a DATABASE_URL. Run as a wrapper it starts the server, runs a command with
DATABASE_URL exported and stops the server again if it was the one that started it:

    python -m echelon.embedded_pg -- pytest
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path
from urllib.parse import quote

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / ".data" / "pg"
DEFAULT_DB_NAME = "echelon"


def _data_dir() -> Path:
    return Path(os.environ.get("ECHELON_PGDATA", DEFAULT_DATA_DIR)).resolve()


def is_running(data_dir: Path | None = None) -> bool:
    """True when a postmaster of this data directory is alive."""
    pid_file = (data_dir or _data_dir()) / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, IndexError, ProcessLookupError, PermissionError):
        return False
    return True


def start(data_dir: Path | None = None, db_name: str = DEFAULT_DB_NAME) -> str:
    """Start (or reuse) the embedded server, create `db_name`, return its DATABASE_URL."""
    warnings.filterwarnings("ignore", module="platformdirs")
    import pgserver  # imported lazily: production never needs it

    data_dir = data_dir or _data_dir()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode=None)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{db_name}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{db_name}";')
    return f"postgres://postgres@{quote(str(data_dir), safe='')}/{db_name}"


def stop(data_dir: Path | None = None) -> None:
    """Stop the embedded server quickly (open sessions are disconnected)."""
    from pgserver._commands import pg_ctl

    data_dir = data_dir or _data_dir()
    if not is_running(data_dir):
        return
    user = "pgserver" if os.geteuid() == 0 else None
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=data_dir, user=user)


def run_with_database(command: list[str]) -> int:
    """Run `command` with DATABASE_URL set; stop the embedded server afterwards if we started it."""
    if os.environ.get("DATABASE_URL"):
        return subprocess.call(command)
    started_here = not is_running()
    env = dict(os.environ, DATABASE_URL=start())
    child = subprocess.Popen(command, env=env)
    # Ctrl-C reaches the whole foreground process group; wait for the child to finish its own
    # shutdown before stopping the database under it.
    previous = signal.signal(signal.SIGINT, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGTERM))
    try:
        return child.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
        if started_here:
            stop()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if argv == ["url"]:
        print(start())
        return 0
    if argv == ["stop"]:
        stop()
        return 0
    if not argv:
        print("usage: python -m echelon.embedded_pg [url | stop | -- COMMAND ...]", file=sys.stderr)
        return 2
    return run_with_database(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
