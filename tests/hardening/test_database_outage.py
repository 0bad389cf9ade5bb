"""PostgreSQL restarted under a running Echelon (a live daphne process).

The server runs on a dedicated embedded PostgreSQL cluster that the test stops and starts:
- during the outage every request (reads, writes, login) answers 503 with `Retry-After` and
  the API's JSON error shape, never a 500;
- once PostgreSQL is back, requests succeed again without restarting Echelon;
- a quick restart between two requests is absorbed by the connection health check (no 503);
- the metering flusher thread survives: every request, including the 503s, ends up in
  `api_usage` once the database is back (N requests → N rows after a graceful stop).

Both connection modes are covered: the psycopg pool (the default) and connections without a pool
(`DATABASE_POOL=0`, health-checked).
"""

from __future__ import annotations

import json
import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from bench.servers import DaphneServer
from tests.hardening.servers import DedicatedPostgres

PASSWORD = "outage-Passw0rd-42"


@pytest.fixture
def postgres():
    server = DedicatedPostgres()
    try:
        server.start()
        server.migrate()
        server.django(
            "from accounts.models import User\n"
            f"User.objects.create_user(email='outage@example.com', password={PASSWORD!r}, subscription_tier='enterprise')\n"
        )
        yield server
    finally:
        server.destroy()


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "service_unavailable"
    assert "database is unavailable" in error["message"]


def websocket_close_code(server, token: str) -> int | None:
    """Open the realtime socket and join; None when the join succeeds, else the close code."""
    url = server.url.replace("http://", "ws://") + f"/realtime/v1/websocket?apikey={token}&vsn=2.0.0"
    try:
        with connect(url, open_timeout=30) as ws:
            ws.send(json.dumps(["1", "1", "realtime:outage", "phx_join", {"config": {"postgres_changes": []}}]))
            reply = json.loads(ws.recv(timeout=30))
            assert reply[4]["status"] == "ok", reply
            return None
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


def until_available(request, *, immediately: bool, seconds: float = 60, expected: int = 200) -> httpx.Response:
    """The first `expected` answer of `request()`. With persistent connections it must be the
    very first answer; the pool reconnects each of its connections in the background with
    backoff, so until all are back a request may answer 503 (only 503) first."""
    deadline = time.monotonic() + seconds
    while True:
        response = request()
        if response.status_code == expected or immediately or time.monotonic() > deadline:
            assert response.status_code == expected, (response.status_code, response.text)
            return response
        assert_unavailable(response)
        time.sleep(0.5)


def usage_rows(postgres: DedicatedPostgres) -> dict[int, int]:
    with postgres.connect() as conn:
        return dict(conn.execute("SELECT status_code, count(*) FROM api_usage GROUP BY status_code").fetchall())


@pytest.mark.parametrize("pool", [False, True], ids=["persistent-connections", "psycopg-pool"])
def test_requests_fail_with_503_during_the_outage_and_succeed_after(postgres, pool):
    env = {"DATABASE_URL": postgres.url, "ECHELON_METERING_FLUSH_SECONDS": "0.2", "LOG_LEVEL": "WARNING"}
    env |= {"DATABASE_POOL": "1", "DATABASE_POOL_TIMEOUT": "1"} if pool else {"DATABASE_POOL": "0"}
    server = DaphneServer(**env)
    sent: list[int] = []

    def call(http, method, path, **kwargs) -> httpx.Response:
        response = http.request(method, path, **kwargs)
        sent.append(response.status_code)
        return response

    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            login = call(http, "POST", "/api/v1/auth/token/", json={"email": "outage@example.com", "password": PASSWORD})
            assert login.status_code == 200, login.text
            http.headers["Authorization"] = f"Bearer {login.json()['access']}"
            created = call(http, "POST", "/api/v1/agents/", json={"name": "before", "type": "market"})
            assert created.status_code == 201, created.text
            assert call(http, "GET", "/api/v1/agents/").json()["count"] == 1

            postgres.stop()
            for _ in range(3):
                assert_unavailable(call(http, "GET", "/api/v1/agents/"))
                assert_unavailable(call(http, "POST", "/api/v1/agents/", json={"name": "during", "type": "market"}))
                assert_unavailable(call(http, "GET", "/api/v1/notifications/unread-count/"))
                assert_unavailable(call(http, "POST", "/api/v1/auth/token/",
                                        json={"email": "outage@example.com", "password": PASSWORD}))
            assert websocket_close_code(server, login.json()["access"]) == 4503, server.output()  # "service unavailable"
            assert server.process.poll() is None, "the server died during the outage"

            postgres.start()
            listed = until_available(lambda: call(http, "GET", "/api/v1/agents/"), immediately=not pool)
            assert [agent["name"] for agent in listed.json()["results"]] == ["before"]  # nothing half-written
            until_available(lambda: call(http, "POST", "/api/v1/agents/", json={"name": "after", "type": "market"}),
                            immediately=not pool, expected=201)
            assert call(http, "GET", "/api/v1/agents/").json()["count"] == 2
            # joined again: the pool (1 s timeout, to fail fast during the outage) may still be
            # refilling on a loaded machine, so the join is retried as the HTTP calls above are
            deadline = time.monotonic() + 60
            while (code := websocket_close_code(server, login.json()["access"])) is not None:
                assert pool and time.monotonic() < deadline, f"the websocket closes with {code}:\n{server.output()}"
                time.sleep(0.5)

            # A quick restart between two requests: the stale connection is noticed and replaced.
            postgres.stop()
            postgres.start()
            until_available(lambda: call(http, "GET", "/api/v1/agents/"), immediately=not pool)

        assert server.stop() == 0, server.output()
    finally:
        server.kill()

    output = server.output()
    assert "Internal Server Error" not in output and " 500 " not in output, output
    assert "database unavailable, answering 503" in output, output
    # The flusher kept the rows of the outage and wrote them when the database came back; the
    # graceful stop flushed the rest: one row per answered request, the 503s included.
    expected: dict[int, int] = {}
    for status in sent:
        expected[status] = expected.get(status, 0) + 1
    assert usage_rows(postgres) == expected, output
