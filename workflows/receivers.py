"""Receivers of agent signals: a changed config redeploys the agent when it asks for it."""

from __future__ import annotations

from django.dispatch import receiver

from agents.signals import agent_config_changed
from workflows.models import TriggerType
from workflows.services import deployment_create
from workflows.services.deployments import deployment_queue


@receiver(agent_config_changed, dispatch_uid="auto_redeploy_on_config_change")
def auto_redeploy(sender, *, agent, changed, actor, **kwargs):
    """`deployment_config.auto_redeploy`: a `config_change` deployment recorded in the same
    transaction, its publish queued for the task queue's worker in that transaction (it talks to n8n).
    Returns it (None when not asked for)."""
    if "config" not in changed or (agent.deployment_config or {}).get("auto_redeploy") is not True:
        return None
    deployment = deployment_create(
        agent=agent, trigger_type=TriggerType.CONFIG_CHANGE, actor=actor,
        trigger_config={"reason": "config_change", "changed": changed},
    )
    return deployment_queue(deployment=deployment)
