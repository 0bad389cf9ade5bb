"""Access policy for deployments, workflows and executions: "as their agent"."""

from __future__ import annotations


from agents.policies import ThroughAgentPolicy
from echelon.columns import Columns
from echelon.policy import register, row_values
from workflows.models import Deployment, Workflow, WorkflowExecution


@register
class DeploymentPolicy(ThroughAgentPolicy):
    model = Deployment
    # version, status, URL, error and times are the deployment service's (n8n) to set.
    columns = Columns(writable={"agent_id", "trigger_type", "trigger_config"})


@register
class WorkflowPolicy(ThroughAgentPolicy):
    model = Workflow
    # The callback's HMAC key is a secret: no reader, no adapter, no change record.
    columns = Columns(
        never={"webhook_secret"},
        writable={"agent_id", "name", "description", "n8n_workflow_id", "trigger_config", "status",
                  "next_execution"},
    )


@register
class WorkflowExecutionPolicy(ThroughAgentPolicy):
    """Executions are written by ingestion (sync, signed callbacks, writers' tokens)."""

    model = WorkflowExecution
    agent_path = "workflow__agent__"
    readable_relations = ("workflow",)
    # Written by ingestion (writers' tokens, the signed callback, the sync) from n8n's data.
    columns = Columns(writable={"workflow_id", "execution_id", "status", "input_data", "output_data",
                                "error_data", "execution_time_ms", "started_at", "completed_at"},
                      ingested=True)

    def agent_id_of(self, row):
        workflow = row_values(Workflow, row.workflow_id, "agent_id")  # also one its agent's cascade deletes
        return None if workflow is None else workflow["agent_id"]
