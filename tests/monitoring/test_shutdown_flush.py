"""A real daphne process: after N requests and a graceful stop, api_usage holds exactly N rows.

The flush interval is set far beyond the test's length, so the rows can only have been written
by the shutdown flush (SIGTERM and SIGINT), not by the periodic one.
"""

from __future__ import annotations

import signal

import httpx
import pytest

from monitoring.models import ApiUsage
from tests import factories
from tests.monitoring.servers import DaphneServer, bearer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_graceful_stop_flushes_every_buffered_row(sig):
    user = factories.UserFactory(subscription_tier="enterprise")
    agent = factories.AgentFactory(created_by=user)
    server = DaphneServer(ECHELON_METERING_FLUSH_SECONDS="600", ECHELON_METERING_BATCH_SIZE="100000")
    try:
        requests = 37
        with httpx.Client(base_url=server.url, headers=bearer(user), timeout=10) as http:
            for i in range(requests):
                response = http.get("/api/v1/agent-metrics/aggregate/",
                                    params={"agent": str(agent.pk), "metric_type": "cost"})
                assert response.status_code == 200, response.text
        assert ApiUsage.objects.filter(user=user).count() == 0, "rows were written before the stop"
        assert server.stop(sig) == 0 or sig == signal.SIGINT, server.output()
    finally:
        server.kill()
    rows = ApiUsage.objects.filter(user=user)
    assert rows.count() == requests, server.output()
    assert set(rows.values_list("endpoint", "agent_id", "status_code")) == {
        ("/api/v1/agent-metrics/aggregate/", agent.pk, 200)
    }


def test_the_background_flusher_writes_while_the_server_runs():
    user = factories.UserFactory()
    server = DaphneServer(ECHELON_METERING_FLUSH_SECONDS="0.2")
    try:
        with httpx.Client(base_url=server.url, headers=bearer(user), timeout=10) as http:
            for _ in range(5):
                assert http.get("/api/v1/api-usage/summary/").status_code == 200
        import time

        deadline = time.monotonic() + 10
        while ApiUsage.objects.filter(user=user).count() < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ApiUsage.objects.filter(user=user).count() == 5, server.output()
        server.stop()
    finally:
        server.kill()
    assert ApiUsage.objects.filter(user=user).count() == 5
