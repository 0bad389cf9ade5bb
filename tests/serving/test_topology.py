"""`make serve`'s topology, started for real: nginx in front of gunicorn workers and daphne, a
private Redis, the test database. One origin serves pages, REST, admin and websockets; a REST
write made by an HTTP worker reaches a websocket held by the daphne process (through Redis);
SIGTERM drains: the socket is closed with 4012 and every process exits cleanly.
"""

from __future__ import annotations

import json
import re
import signal
import time

import httpx
import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from bench.servers import TopologyServer
from tests import factories
from tests.monitoring.servers import database_url_for_tests

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "topology-Passw0rd-17"


@pytest.fixture
def topology():
    started = TopologyServer(DATABASE_URL=database_url_for_tests(), LOG_LEVEL="WARNING", http_workers=2,
                             websocket_processes=1, queue_workers=1, N8N_BASE_URL="")
    try:
        yield started
    finally:
        started.kill()


def test_one_origin_serves_pages_rest_admin_and_websockets_and_stops_gracefully(topology):
    staff = factories.UserFactory(email="staff@topology.test", is_staff=True, is_superuser=True)
    # the servers know the production hashers, not the test process' fast MD5 one
    staff.password = PBKDF2PasswordHasher().encode(PASSWORD, "topology-salt", iterations=1000)
    staff.save()
    agent = factories.AgentFactory(created_by=staff, name="topology agent")
    base = topology.url

    with httpx.Client(base_url=base, timeout=30) as http:
        # health: the process and what it needs; metrics not through the public front
        assert http.get("/healthz").text == "ok\n"
        ready = http.get("/readyz")
        assert ready.status_code == 200 and set(ready.json()["checks"]) >= {"postgresql", "redis"}, ready.text
        assert http.get("/metrics").status_code == 404

        # REST
        token = http.post("/api/v1/auth/token/", json={"email": staff.email, "password": PASSWORD})
        assert token.status_code == 200, token.text
        api = {"Authorization": f"Bearer {token.json()['access']}"}
        listed = http.get("/api/v1/agents/", headers=api)
        assert listed.status_code == 200 and [a["name"] for a in listed.json()["results"]] == ["topology agent"]

        # deploy answers 202 at once; the topology's queue worker carries it out (issue 18)
        deploy = http.post(f"/api/v1/agents/{agent.pk}/deploy/", json={}, headers=api)
        assert deploy.status_code == 202 and deploy.json()["status"] == "deploying", deploy.text
        deadline = time.monotonic() + 60
        while (status := http.get(f"/api/v1/deployments/{deploy.json()['id']}/", headers=api).json()["status"]) \
                == "deploying" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert status == "deployed"

        # pages: sign in with the form (CSRF through the front), then the dashboard
        login = http.get("/login/")
        assert login.status_code == 200
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
        signed_in = http.post("/login/", data={"username": staff.email, "password": PASSWORD,
                                               "csrfmiddlewaretoken": csrf}, headers={"Referer": f"{base}/login/"})
        assert signed_in.status_code == 302, signed_in.text[:500]
        dashboard = http.get("/")
        assert dashboard.status_code == 200 and "topology agent" in dashboard.text
        static = re.search(r'/static/[^"]+\.css', dashboard.text).group(0)
        assert http.get(static).status_code == 200  # served by nginx from collectstatic

        # admin, with the same session
        changelist = http.get("/admin/agents/agent/")
        assert changelist.status_code == 200 and "topology agent" in changelist.text

        # websockets on the same origin: a REST write (an HTTP worker) reaches the socket (daphne)
        ws_url = base.replace("http://", "ws://") + f"/realtime/v1/websocket?apikey={token.json()['access']}&vsn=2.0.0"
        with connect(ws_url, open_timeout=30) as ws:
            ws.send(json.dumps(["1", "1", "realtime:agents", "phx_join", {"config": {"postgres_changes": [
                {"event": "UPDATE", "schema": "public", "table": "agents"}]}}]))
            assert json.loads(ws.recv(timeout=30))[4]["status"] == "ok"
            assert json.loads(ws.recv(timeout=30))[3] == "system"
            patched = http.patch(f"/api/v1/agents/{agent.pk}/", json={"description": "through the front"}, headers=api)
            assert patched.status_code == 200, patched.text
            change = json.loads(ws.recv(timeout=30))
            assert change[3] == "postgres_changes" and change[4]["data"]["record"]["description"] == "through the front"

            metrics = httpx.get(f"http://127.0.0.1:{topology.metrics_port}/metrics", timeout=30)
            assert metrics.status_code == 200
            assert 'echelon_http_requests_total{method="GET",route="/api/v1/agents/",status="200"}' in metrics.text
            assert "echelon_realtime_open_sockets 1.0" in metrics.text, metrics.text
            assert "echelon_realtime_deliveries_total 1.0" in metrics.text

            # graceful stop: the socket is told to reconnect elsewhere, everything exits cleanly
            topology.process.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws.recv(timeout=60)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4012, closed.value
    assert topology.process.wait(120) == 0, topology.output()
    assert "websockets: draining 1 socket(s) with close code 4012" in topology.output()
    assert "Traceback" not in topology.output(), topology.output()
