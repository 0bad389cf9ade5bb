"""Deployment and workflow writes."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max

from agents.models import Agent
from workflows.models import Deployment, DeploymentStatus, TriggerType


@transaction.atomic
def deployment_create(*, agent: Agent, actor=None, trigger_type: str = TriggerType.MANUAL,
                      trigger_config: dict | None = None, **fields) -> Deployment:
    """Record a new pending deployment of `agent` with the next version number.

    The agent row is locked so concurrent requests get consecutive versions (the unique
    constraint on (agent, version) is the backstop).
    """
    Agent.objects.select_for_update().filter(pk=agent.pk).first()
    latest = Deployment.objects.filter(agent=agent).aggregate(v=Max("version"))["v"] or 0
    return Deployment.objects.create(
        agent=agent, version=latest + 1, status=DeploymentStatus.PENDING,
        trigger_type=trigger_type, trigger_config=trigger_config or {}, **fields,
    )
