"""The seed's status-change trigger, as a service + signal: one notification per real change."""

import pytest
from django.db import transaction

from agents.services import agent_set_status
from notifications.models import Notification
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


def test_real_change_creates_the_seed_notification():
    agent = AgentFactory(name="Scout", status="inactive")
    assert agent_set_status(agent=agent, status="error") is True
    note = Notification.objects.get(user=agent.created_by)
    assert (note.type, note.title, note.priority) == ("agent_status_change", "Agent Status Updated", "high")
    assert note.message == 'Agent "Scout" status changed from inactive to error'
    assert note.data == {"agent_id": str(agent.pk), "old_status": "inactive", "new_status": "error"}


@pytest.mark.parametrize("new,priority", [("active", "medium"), ("paused", "low"), ("error", "high")])
def test_priority_follows_the_new_status(new, priority):
    agent = AgentFactory(status="inactive")
    agent_set_status(agent=agent, status=new)
    assert Notification.objects.get(user=agent.created_by).priority == priority


def test_no_change_no_notification():
    agent = AgentFactory(status="paused")
    assert agent_set_status(agent=agent, status="paused") is False
    assert not Notification.objects.exists()


def test_rolled_back_change_leaves_no_notification():
    agent = AgentFactory(status="inactive")
    with pytest.raises(RuntimeError), transaction.atomic():
        agent_set_status(agent=agent, status="active")
        raise RuntimeError("abort")
    agent.refresh_from_db()
    assert agent.status == "inactive"
    assert not Notification.objects.exists()


def test_unknown_status_is_rejected():
    with pytest.raises(ValueError, match="Unknown agent status"):
        agent_set_status(agent=AgentFactory(), status="sleeping")
