"""The project boots on PostgreSQL and the factories build consistent rows."""

from django.db import connection

from tests import factories


def test_database_is_postgresql(db):
    assert connection.vendor == "postgresql"


def test_thought_factory_links_execution_and_agent(db):
    thought = factories.AgentThoughtFactory()
    assert thought.agent_id == thought.execution.workflow.agent_id
