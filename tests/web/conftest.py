"""Browser fixtures: headless Chromium (Debian's package, never downloaded by Playwright) driven
by Playwright against a live daphne that serves the test database (`web_server`, started like
the realtime suite's `daphne_server`), so pages, REST calls and the websocket are the real stack.

Sessions are made in this process (`Client.force_login`) and handed to the browser as its
cookie: the test database is shared, so daphne finds them. Only the sign-in test types a
password (hashed with the production hasher: daphne does not know the fast test hasher).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from agents.models import AgentStatus, AgentType
from bench.servers import wait_for_relay, wait_for_relay_exit
from tests import factories
from tests.servers import ROOT, free_port, live_database_url
from tests.web.browser import DESKTOP

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="package")  # its loop would break async_to_sync in tests run after tests/web
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package "
                    "(apt-get install -y chromium)")
    # Never let Playwright fetch a browser of its own.
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop on this thread; Django would then refuse the
    # test's own (synchronous) ORM calls. Allowed for this process only: daphne gets it unset.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


class LiveServer:
    """daphne on a fixed port against the test database (as the realtime suite's
    `daphne_server`), which a test may stop and start again to see the pages reconnect, with
    a task-queue worker beside it as `manage.py serve` has (deploy/stop answer 202)."""

    def __init__(self, redis_url: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The test process allows sync ORM calls beside Playwright's loop; daphne must not.
        self.env = dict(os.environ, DATABASE_URL=live_database_url(), REDIS_URL=redis_url,
                        DJANGO_SETTINGS_MODULE="echelon.settings", DJANGO_ALLOW_ASYNC_UNSAFE="")
        self.proc = None
        self.worker = None
        self.log = None

    def start(self) -> None:
        self.log = tempfile.TemporaryFile()
        self.worker = subprocess.Popen([sys.executable, "manage.py", "procrastinate", "worker"],
                                       cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "echelon.asgi:application"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                pytest.fail(f"daphne exited with {self.proc.returncode}:\n{self.log.read().decode(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                time.sleep(0.1)
                continue
            wait_for_relay(self.env["DATABASE_URL"])  # the set-up's changes handed on before a page opens
            return
        pytest.fail("daphne did not start listening within 30 s")

    def stop(self) -> None:
        if self.proc is None:
            return
        for process in (self.proc, self.worker):
            process.terminate()
        for process in (self.proc, self.worker):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        wait_for_relay_exit(self.env["DATABASE_URL"], self.proc.pid)  # the relay child exits after its server
        self.log.close()
        self.proc = self.worker = None


@pytest.fixture
def web_server(redis_url):
    server = LiveServer(redis_url)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def web_url(web_server):
    return web_server.url


@pytest.fixture
def open_page(browser, web_url):
    """`open_page(user, path, viewport=DESKTOP)` → a Playwright page signed in as `user`."""
    contexts = []

    def open_(user, path: str = "/", viewport: dict = DESKTOP):
        context = browser.new_context(viewport=viewport, base_url=web_url)
        contexts.append(context)
        if user is not None:
            client = Client()
            client.force_login(user)
            context.add_cookies([{
                "name": django_settings.SESSION_COOKIE_NAME, "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": web_url,
            }])
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        # Console errors too: a failed resource (404 script, favicon) or a refused API call.
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.js_errors = errors
        if path is not None:
            page.goto(path)
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def world():
    """An owner with two agents, a team where the owner is a viewer and `admin` is admin with
    one agent, and an outsider's private agent."""
    owner, admin, outsider = factories.UserFactory(), factories.UserFactory(), factories.UserFactory()
    team = factories.TeamFactory(created_by=admin, name="Acme research")
    factories.UserRoleFactory(user=admin, team=team, role=Role.ADMIN)
    factories.UserRoleFactory(user=owner, team=team, role=Role.VIEWER)
    mine = [
        factories.AgentFactory(created_by=owner, name="Market watcher", status=AgentStatus.ACTIVE),
        factories.AgentFactory(created_by=owner, name="News digger", type=AgentType.WEBSEARCH, team=team),
    ]
    team_agent = factories.AgentFactory(created_by=admin, team=team, name="Team alarm", type=AgentType.ALARM,
                                        status=AgentStatus.ACTIVE)
    hidden = factories.AgentFactory(created_by=outsider, name="Outsider secret")
    factories.DeploymentFactory(agent=mine[0], version=1, status="deployed", deployed_at=timezone.now())
    factories.WorkflowFactory(agent=mine[0])
    return {"owner": owner, "admin": admin, "outsider": outsider, "team": team, "mine": mine,
            "team_agent": team_agent, "hidden": hidden}
