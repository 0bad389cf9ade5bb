"""Access policy for deployments, workflows and executions: "as their agent"."""

from __future__ import annotations

from django.db.models import Q

from agents.policies import agent_readers, agent_writers
from echelon.policy import Audience, RowPolicy, agent_audience, register
from workflows.models import Deployment, Workflow, WorkflowExecution


class _ThroughAgent(RowPolicy):
    """Rows that belong to an agent reached by `agent_path` follow the agent's policy."""

    agent_path = "agent__"

    def readers(self, user) -> Q:
        return agent_readers(user, self.agent_path)

    def writers(self, user) -> Q:
        return agent_writers(user, self.agent_path)

    def agent_id_of(self, row):
        return row.agent_id

    def audience(self, row) -> Audience:
        return agent_audience(self.agent_id_of(row))

    def audience_key(self, row):
        agent_id = getattr(row, "agent_id", None)
        return None if agent_id is None else ("agent", agent_id)


@register
class DeploymentPolicy(_ThroughAgent):
    model = Deployment


@register
class WorkflowPolicy(_ThroughAgent):
    model = Workflow


@register
class WorkflowExecutionPolicy(_ThroughAgent):
    """Executions are written by ingestion (sync, signed callbacks, writers' tokens)."""

    model = WorkflowExecution
    agent_path = "workflow__agent__"

    def agent_id_of(self, row):
        return Workflow.objects.filter(pk=row.workflow_id).values_list("agent_id", flat=True).first()
