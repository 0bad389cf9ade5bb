"""A fixed world for the fuzzers: rows with deterministic ids, so that generated requests can
name real rows (hypothesis strategies are built at import time, before any row exists).

The fuzzing user `fuzzer` is a normal user (tier `free`, not staff): admin of team `alpha`,
where `mate` is a viewer; `outsider` is alone in team `beta`. Each of them owns an agent with
a deployment, a workflow, an execution with thoughts, a metric, a template, a notification and
API usage, so every resource has a row the fuzzer may change, one it may only read, and one it
may not see.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import Role
from tests import factories as f

NAMESPACE = uuid.UUID("6f1d0a52-8b43-4d53-9a49-3a8f3c0e5a11")
PASSWORD = "fuzz-Password-123"


def fixed_id(name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, name)


OWNERS = ("fuzzer", "mate", "outsider")
# Every id a path parameter may be drawn from (all resources mixed: the wrong kind must be a 404).
KNOWN_IDS = [
    str(fixed_id(f"{kind}-{owner}"))
    for owner in OWNERS
    for kind in ("user", "agent", "template", "deployment", "workflow", "execution", "thought",
                 "metric", "notification", "usage", "role")
] + [str(fixed_id(f"team-{name}")) for name in ("alpha", "beta")]


def build_world() -> dict:
    """Create the world; returns its rows by name."""
    w: dict = {}
    for owner in OWNERS:
        w[owner] = f.UserFactory(id=fixed_id(f"user-{owner}"), email=f"{owner}@fuzz.example",
                                 password=PASSWORD)
    w["alpha"] = f.TeamFactory(id=fixed_id("team-alpha"), name="Alpha", slug="alpha", created_by=w["fuzzer"])
    w["beta"] = f.TeamFactory(id=fixed_id("team-beta"), name="Beta", slug="beta", created_by=w["outsider"])
    roles = {"fuzzer": ("alpha", Role.ADMIN), "mate": ("alpha", Role.VIEWER), "outsider": ("beta", Role.ADMIN)}
    for owner, (team, role) in roles.items():
        w[f"role-{owner}"] = f.UserRoleFactory(id=fixed_id(f"role-{owner}"), user=w[owner], team=w[team],
                                               role=role, granted_by=w[team].created_by)
    teams = {"fuzzer": w["alpha"], "mate": w["alpha"], "outsider": w["beta"]}
    now = timezone.now()
    for owner in OWNERS:
        user = w[owner]
        agent = f.AgentFactory(id=fixed_id(f"agent-{owner}"), created_by=user, team=teams[owner])
        f.DeploymentFactory(id=fixed_id(f"deployment-{owner}"), agent=agent, version=1)
        workflow = f.WorkflowFactory(id=fixed_id(f"workflow-{owner}"), agent=agent)
        execution = f.WorkflowExecutionFactory(id=fixed_id(f"execution-{owner}"), workflow=workflow)
        f.AgentThoughtFactory(id=fixed_id(f"thought-{owner}"), execution=execution, agent=agent)
        f.AgentMetricFactory(id=fixed_id(f"metric-{owner}"), agent=agent, value=Decimal("12.5"),
                             recorded_at=now - timedelta(minutes=5))
        f.AgentTemplateFactory(id=fixed_id(f"template-{owner}"), created_by=user, is_public=owner == "outsider")
        f.NotificationFactory(id=fixed_id(f"notification-{owner}"), user=user)
        f.ApiUsageFactory(id=fixed_id(f"usage-{owner}"), user=user)
        w[f"agent-{owner}"] = agent
    return w
