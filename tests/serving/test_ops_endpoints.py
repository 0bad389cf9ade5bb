"""/healthz, /readyz (a registry of checks) and /metrics (operators only), in-process; and the
direct-write adapter's refusal of unverified daphne/Twisted/autobahn versions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.utils import timezone

from realtime import direct_write
from realtime.models import PendingChange
from tests import factories


@pytest.fixture
def client():
    return Client()


def test_healthz_answers_without_the_database_or_a_known_host(client):
    response = client.get("/healthz", HTTP_HOST="10.1.2.3")  # a load balancer asks by IP address
    assert response.status_code == 200 and response.content == b"ok\n"


@pytest.mark.django_db
def test_readyz_runs_every_registered_check_and_fails_while_one_fails(client, tmp_path, settings, relay):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["postgresql"]["ok"] is True

    assert response.json()["checks"]["relay"]["ok"] is True
    # a change the relay has not handed on for longer than the bound: no relay leads, not ready
    factories.AgentFactory()
    PendingChange.objects.update(written_at=timezone.now() - timedelta(seconds=45))
    settings.REALTIME_RELAY_MAX_LAG_SECONDS = 30
    failed = client.get("/readyz")
    assert failed.status_code == 503 and failed.json()["ready"] is False
    assert failed.json()["checks"]["relay"]["error"].startswith("the change relay is 45 s behind"), failed.json()
    relay()  # handed on: ready again
    assert client.get("/readyz").status_code == 200

    settings.ECHELON_DRAIN_FILE = str(tmp_path / "draining")
    (tmp_path / "draining").touch()  # the machine is leaving the load balancer
    draining = client.get("/readyz")
    assert draining.status_code == 503 and "draining" in draining.json()["checks"]["draining"]["error"]


@pytest.mark.django_db
def test_metrics_only_for_the_operators_network(client, settings, user):
    client.force_login(user)
    client.get("/api/v1/agents/")
    local = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert local.status_code == 200
    assert 'echelon_http_requests_total{method="GET",route="/api/v1/agents/",status="200"}' in local.content.decode()
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 404
    settings.ECHELON_METRICS_PUBLIC = True
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 200


def test_direct_write_refuses_unverified_versions(monkeypatch):
    direct_write.check_versions()  # the pinned versions are the verified ones
    monkeypatch.setitem(direct_write.VERIFIED, "Twisted", {"1.0"})  # a release it was not measured on
    with pytest.raises(ImproperlyConfigured, match=r"Twisted 26\.10\.0 \(verified: 1\.0\).*REALTIME_DIRECT_WRITE=0"):
        direct_write.check_versions()
