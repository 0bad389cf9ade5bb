"""Workflow-side state changes: deployments, execution recording, the n8n sync and the signed
callback. Import from here; the submodules are implementation detail."""

from workflows.services.deployments import (
    DeploymentNotDeletable,
    DeploymentStateError,
    agent_deploy,
    deployment_create,
    deployment_delete,
    deployment_finish,
    deployment_run,
    deployment_stop,
    deployments_run_due,
)
from workflows.services.scheduling import ScheduleError
from workflows.services.executions import (
    ExecutionReport,
    RecordResult,
    execution_record,
    execution_status_from_n8n,
    report_from_n8n,
)

__all__ = [
    "DeploymentNotDeletable", "DeploymentStateError", "ExecutionReport", "deployment_delete", "RecordResult", "agent_deploy", "deployment_create",
    "deployment_finish", "deployment_run", "deployment_stop", "deployments_run_due", "ScheduleError", "execution_record", "execution_status_from_n8n",
    "report_from_n8n",
]
