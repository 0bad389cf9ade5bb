"""The seed's `notify_agent_status_change` trigger: one notification per real status change, by
whichever writer (the service, `save()`, `queryset.update()`, plain SQL from another
connection), from the captured change the relay hands on; none for a rolled-back write."""

import pytest
from django.db import transaction

from agents.models import Agent
from agents.services import agent_set_status
from notifications.models import Notification
from tests.factories import AgentFactory
from tests.servers import outside_connection

pytestmark = pytest.mark.django_db


def status_notes(agent) -> list[tuple]:
    return list(Notification.objects.filter(user=agent.created_by, type="agent_status_change")
                .values_list("title", "message", "data", "priority"))


def seed_note(agent, old, new, priority) -> tuple:
    return ("Agent Status Updated", f'Agent "{agent.name}" status changed from {old} to {new}',
            {"agent_id": str(agent.pk), "old_status": old, "new_status": new}, priority)


def test_the_service_change_gives_the_seed_notification(relay):
    agent = AgentFactory(name="Scout", status="inactive")
    assert agent_set_status(agent=agent, status="error") is True
    assert status_notes(agent) == []  # written by the relay, from the captured change
    relay()
    assert status_notes(agent) == [seed_note(agent, "inactive", "error", "high")]


@pytest.mark.parametrize("new,priority", [("active", "medium"), ("paused", "low"), ("error", "high")])
def test_priority_follows_the_new_status(relay, new, priority):
    agent = AgentFactory(status="inactive")
    agent_set_status(agent=agent, status=new)
    relay()
    assert Notification.objects.get(user=agent.created_by).priority == priority


def test_save_and_queryset_update_notify_too(relay):
    agent = AgentFactory(name="Saved", status="inactive")
    agent.status = "error"
    agent.save()
    Agent.objects.filter(pk=agent.pk).update(status="paused")
    relay()
    notes = status_notes(agent)
    assert len(notes) == 2
    assert seed_note(agent, "inactive", "error", "high") in notes and seed_note(agent, "error", "paused", "low") in notes


def test_no_change_no_notification(relay):
    agent = AgentFactory(status="paused")
    assert agent_set_status(agent=agent, status="paused") is False
    Agent.objects.filter(pk=agent.pk).update(status="paused", name="renamed")  # other columns only
    relay()
    assert not Notification.objects.exists()


def test_rolled_back_change_leaves_no_notification(relay):
    agent = AgentFactory(status="inactive")
    with pytest.raises(RuntimeError), transaction.atomic():
        agent_set_status(agent=agent, status="active")
        raise RuntimeError("abort")
    relay()
    agent.refresh_from_db()
    assert agent.status == "inactive"
    assert not Notification.objects.exists()


def test_the_relay_hands_each_change_on_once(relay):
    agent = AgentFactory(status="inactive")
    agent_set_status(agent=agent, status="active")
    relay()
    relay()
    assert len(status_notes(agent)) == 1


@pytest.mark.django_db(transaction=True)
def test_plain_sql_from_another_connection_notifies(relay):
    agent = AgentFactory(name="Outside", status="inactive")
    with outside_connection() as outside:  # as psql, an n8n Postgres node or a data fix would
        outside.execute("SET TIME ZONE 'Asia/Kolkata'")
        outside.execute("UPDATE agents SET status = 'error' WHERE id = %s", [agent.pk])
    relay()
    assert status_notes(agent) == [seed_note(agent, "inactive", "error", "high")]


def test_unknown_status_is_rejected():
    with pytest.raises(ValueError, match="Unknown agent status"):
        agent_set_status(agent=AgentFactory(), status="sleeping")
