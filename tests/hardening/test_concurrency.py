"""Real parallel transactions through the REST API: threads, each with its own PostgreSQL
connection, released together by a barrier.

- parallel mark-all-read while new notifications arrive: every notification is marked read at
  most once (no double update, the "marked" counts add up exactly), none is lost, and the
  unread count agrees with the rows;
- parallel activate/pause of one agent: exactly one `agent_status_change` notification per real
  change, none for a request that changed nothing.

The other concurrency tests live with their features: 20 parallel deploys (consecutive versions,
one live deployment) and 50 parallel n8n callbacks plus 50 replays (exact counters) are in
`tests/lifecycle/test_concurrency.py`, whose `run_in_threads` is reused here.
"""

from __future__ import annotations

import threading

import orjson
import pytest
from rest_framework.test import APIClient

from agents.models import Agent
from notifications.models import Notification, NotificationType
from notifications.services import notification_create
from realtime.models import ChangeLog
from realtime.relay import drain
from tests import factories
from tests.threads import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_parallel_mark_all_read_marks_each_notification_once():
    user, other = factories.UserFactory(subscription_tier="enterprise"), factories.UserFactory()
    factories.NotificationFactory.create_batch(60, user=user, read_at=None)
    factories.NotificationFactory.create_batch(5, user=other, read_at=None)
    marked: list[int] = []
    unread_seen: list[int] = []
    lock = threading.Lock()

    def work(i):
        client = client_for(user)
        if i % 3 == 0:  # writers: new notifications keep arriving during the marking
            for n in range(4):
                notification_create(user_id=user.pk, type=NotificationType.SYSTEM, title=f"late {i}.{n}", message="m")
        elif i % 3 == 1:
            response = client.post("/api/v1/notifications/mark-all-read/")
            assert response.status_code == 200, response.content
            with lock:
                marked.append(response.json()["marked"])
        else:
            response = client.get("/api/v1/notifications/unread-count/")
            assert response.status_code == 200, response.content
            with lock:
                unread_seen.append(response.json()["unread"])

    assert run_in_threads(30, work) == []
    total = 60 + 10 * 4
    assert Notification.objects.filter(user=user).count() == total
    read = Notification.objects.filter(user=user, read_at__isnull=False).count()
    assert sum(marked) == read, (marked, read)  # each row was marked by exactly one call
    assert len(marked) == 10 and len(unread_seen) == 10
    assert all(0 <= seen <= total for seen in unread_seen)
    final_unread = client_for(user).get("/api/v1/notifications/unread-count/").json()["unread"]
    assert final_unread == total - read

    # One more call marks exactly what was left; the other user's rows were never touched.
    assert client_for(user).post("/api/v1/notifications/mark-all-read/").json()["marked"] == total - read
    assert client_for(user).get("/api/v1/notifications/unread-count/").json()["unread"] == 0
    assert Notification.objects.filter(user=other, read_at__isnull=True).count() == 5


def captured_status_changes(agent) -> list[tuple[str, str]]:
    """Every change of the agent's status captured in PostgreSQL (old, new), in commit order
    (the relay's positions), after the relay handed them on."""
    drain()
    changes = []
    for message in ChangeLog.objects.filter(table_name="agents", op="UPDATE").order_by("position") \
            .values_list("message", flat=True):
        data = orjson.loads(bytes(message))["variants"][0]["data"]
        old, new = data["old_record"]["status"], data["record"]["status"]
        if data["record"]["id"] == str(agent.pk) and old != new:
            changes.append((old, new))
    return changes


def status_notifications(agent) -> list[tuple[str, str]]:
    rows = Notification.objects.filter(type=NotificationType.AGENT_STATUS_CHANGE, data__agent_id=str(agent.pk))
    return [(n.data["old_status"], n.data["new_status"]) for n in rows]


def test_parallel_activate_and_pause_notify_once_per_real_change():
    owner = factories.UserFactory(subscription_tier="enterprise")  # 60+ requests: not rate limited
    agent = factories.AgentFactory(created_by=owner, status="paused")

    def activate(_):
        response = client_for(owner).post(f"/api/v1/agents/{agent.pk}/activate/")
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "active"

    # 20 identical activations at once: one real change, one notification.
    assert run_in_threads(20, activate) == []
    assert captured_status_changes(agent) == [("paused", "active")]
    assert status_notifications(agent) == [("paused", "active")]

    def toggle(i):
        action = "activate" if i % 2 else "pause"
        response = client_for(owner).post(f"/api/v1/agents/{agent.pk}/{action}/")
        assert response.status_code == 200, response.content

    # 40 mixed requests at once: the status flips some number of times; each flip is one
    # notification and the flips chain (no change is lost or reported twice).
    assert run_in_threads(40, toggle) == []
    status_changes = captured_status_changes(agent)
    notified = status_notifications(agent)
    assert sorted(notified) == sorted(status_changes), (notified, status_changes)
    assert all(old != new for old, new in notified)
    flips = status_changes[1:]
    to_paused = flips.count(("active", "paused"))
    to_active = flips.count(("paused", "active"))
    assert to_paused + to_active == len(flips)
    assert to_paused - to_active in (0, 1)  # started active: alternating flips
    final = Agent.objects.get(pk=agent.pk).status
    assert final == ("paused" if to_paused > to_active else "active")
    # The capture's order is the commit order of the row locks: a strict alternation.
    for (old, new), (next_old, _next_new) in zip(status_changes, status_changes[1:]):
        assert new == next_old, status_changes
