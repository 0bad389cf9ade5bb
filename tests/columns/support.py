"""Support of the column-policy walk (issue 12, point 1): one team and its readers, a row of
every registered model readable by that team, and sentinel values in every `never` column.

Readers (REST, realtime and admin walk the same ones):
- `owner`: admin of the team, staff (not superuser), creator of the team's agent and its rows;
- `manager`, `viewer`: the team's agent_manager and viewer;
- `staff`: a staff user (not superuser) who is a viewer of the team;
- `superuser`: the operator;
- `outsider`: admin of another team (sees none of the team's rows).

`ROW_MAKERS` says how to make a row of each model that the team reads. A model registered with
a policy but missing here fails `test_every_registered_model_has_a_row_maker`, so a new model
cannot slip past the walk.
"""

from __future__ import annotations

import uuid

from django.db import models

from accounts.models import Role, Team, User, UserRole
from agents.models import Agent, AgentTemplate
from echelon.policy import policy_for, registered_models
from monitoring.models import AgentMetric, ApiUsage
from notifications.models import AgentThought, Notification
from tests import factories as f
from workflows.models import Deployment, Workflow, WorkflowExecution

READERS = ("owner", "manager", "viewer", "staff", "superuser", "outsider")
STAFF_READERS = ("owner", "staff", "superuser")  # the ones the admin lets in
SENTINEL = "never-shown-" + uuid.uuid4().hex  # planted in every `never` text column


def _team_user(world):
    user = f.UserFactory(full_name="New Member")
    f.UserRoleFactory(user=user, team=world["team"], role=Role.VIEWER, granted_by=world["owner"])
    return user


def _team(world):
    team = f.TeamFactory(created_by=world["owner"])
    for name in READERS:
        if name not in ("superuser", "outsider"):
            f.UserRoleFactory(user=world[name], team=team, role=Role.VIEWER, granted_by=world["owner"])
    return team


ROW_MAKERS = {
    User: _team_user,
    Team: _team,
    UserRole: lambda w: f.UserRoleFactory(user=f.UserFactory(), team=w["team"], role=Role.VIEWER,
                                          granted_by=w["owner"]),
    Agent: lambda w: f.AgentFactory(created_by=w["owner"], team=w["team"]),
    AgentTemplate: lambda w: f.AgentTemplateFactory(created_by=w["owner"], is_public=True),
    Deployment: lambda w: f.DeploymentFactory(agent=w["agent"]),
    Workflow: lambda w: f.WorkflowFactory(agent=w["agent"]),
    WorkflowExecution: lambda w: f.WorkflowExecutionFactory(workflow=w["workflow"]),
    AgentThought: lambda w: f.AgentThoughtFactory(execution=w["execution"], agent=w["agent"]),
    Notification: lambda w: f.NotificationFactory(user=w["owner"]),
    AgentMetric: lambda w: f.AgentMetricFactory(agent=w["agent"]),
    ApiUsage: lambda w: f.ApiUsageFactory(user=w["owner"], agent=w["agent"]),
}

def changeable_column(model) -> tuple[str, object, object]:
    """(attname, a value, another value) of a column every reader sees that a write may change
    (the UPDATEs of the walk): free text, else JSON, else a choice."""
    common = policy_for(model).columns.common
    fields = [fd for fd in model._meta.concrete_fields
              if fd.column in common and not fd.unique and not fd.is_relation and not fd.primary_key]
    for fd in fields:
        if isinstance(fd, (models.CharField, models.TextField)) and not fd.choices:
            return fd.attname, "changed by save", "changed in bulk"
    for fd in fields:
        if isinstance(fd, models.JSONField):
            return fd.attname, {"changed": "by save"}, {"changed": "in bulk"}
    for fd in fields:
        if fd.choices and len(fd.choices) > 2:
            return fd.attname, fd.choices[-1][0], fd.choices[-2][0]
    raise AssertionError(f"{model.__name__}: no column every reader sees for the walk to change")


def plant_sentinels(model) -> None:
    """Put SENTINEL in every `never` text column of every row of `model`."""
    never = policy_for(model).columns.never
    text = [fd for fd in model._meta.concrete_fields
            if fd.column in never and isinstance(fd, (models.CharField, models.TextField))]
    if text and model is not User:  # users: the password hash is its own sentinel
        model._default_manager.update(**{fd.attname: SENTINEL for fd in text})


def never_values(world) -> list[str]:
    """Strings no adapter may ever send: the sentinel and every user's password hash."""
    hashes = [u.password for u in User.objects.all() if u.password and len(u.password) > 20]
    return [SENTINEL, *hashes]


def reader_kind(reader, row) -> str:
    return policy_for(row).reader_kind(reader, row)


def expected_columns(reader, row) -> frozenset:
    return policy_for(row).visible_columns(reader, row)


def walked_models() -> list:
    return sorted(registered_models(), key=lambda m: m._meta.db_table)
