"""Agent state changes. Every status change in Echelon goes through `agent_set_status`."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.memberships import MANAGER_ROLES
from accounts.models import Role, UserRole
from accounts.selectors import teams_managed_by
from agents.models import Agent, AgentStatus, AgentTemplate
from agents.signals import agent_config_changed


@transaction.atomic
def agent_set_status(*, agent: Agent, status: str, actor=None) -> bool:
    """Set `agent.status`; return True when it changed.

    Locks the row so concurrent changes are serialized and each real change is written once.
    The seed's status notification is not this function's: it comes from the captured change
    (notifications/receivers.py), so every writer's status change has one, this one's too.
    """
    if status not in AgentStatus.values:
        raise ValueError(f"Unknown agent status {status!r}; expected one of {', '.join(AgentStatus.values)}")
    locked = Agent.objects.select_for_update().get(pk=agent.pk)
    old_status = locked.status
    if old_status == status:
        agent.status = status
        return False
    locked.status = status
    locked.last_activity = timezone.now()
    locked.save(update_fields=["status", "last_activity"])
    agent.status, agent.updated_at, agent.last_activity = locked.status, locked.updated_at, locked.last_activity
    return True


def deep_merge(base: dict, overrides: dict) -> dict:
    """A new dict: `overrides` on top of `base`, merging nested objects key by key.

    Lists and scalars in `overrides` replace the base value; `base` is not modified.
    """
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class TemplateTeamError(PermissionDenied):
    """The actor may not create agents in the requested team (REST answers 403 with the reason)."""


class AgentMoveForbidden(PermissionDenied):
    """The actor may not move this agent to that team (REST and admin answer 403)."""


def agent_check_team_move(*, agent: Agent, actor, team) -> None:
    """Who may move an agent from its stored team to `team` (the one rule; REST and admin ask it).

    - The owner, into a team she is an admin or agent_manager of (or out of any team).
    - Someone else: an admin of both the agent's current team and the target team. Not out of
      every team (the agent would be the owner's alone, out of the mover's reach), and an
      agent_manager may change a team's agent, never take it elsewhere.
    - A superuser: any move.
    The current team is read from the database: `agent` may already carry the new value (the
    admin's form applies it before saving). Raises AgentMoveForbidden; no change, no check.
    """
    target_id = getattr(team, "pk", team)
    stored = Agent.objects.filter(pk=agent.pk).values_list("team_id", "created_by_id").first()
    if stored is None:
        return
    source_id, owner_id = stored
    if source_id == target_id or getattr(actor, "is_superuser", False):
        return
    roles = set(UserRole.objects.filter(user_id=actor.pk, team_id__in=[t for t in (source_id, target_id) if t])
                .values_list("team_id", "role"))
    if owner_id == actor.pk:
        if target_id is None or any((target_id, role) in roles for role in MANAGER_ROLES):
            return
        raise AgentMoveForbidden(f"You are not an admin or agent manager of team {target_id}.")
    if source_id is not None and target_id is not None and {(source_id, Role.ADMIN), (target_id, Role.ADMIN)} <= roles:
        return
    raise AgentMoveForbidden(
        "Only the agent's owner, or an admin of both its team and the target team, may move it to another team."
    )


@transaction.atomic
def agent_create(*, actor, name: str, type: str, team=None, **fields) -> Agent:
    """Create an agent owned by `actor` (a new agent's status is set directly: no change yet)."""
    return Agent.objects.create(created_by=actor, name=name, type=type, team=team, **fields)


@transaction.atomic
def agent_update(*, agent: Agent, actor, **fields) -> Agent:
    """Change an agent's fields. A new `status` goes through `agent_set_status` (one signal);
    `config` / `deployment_config` go through `agent_update_config` (auto-redeploy); a new
    `team` must pass `agent_check_team_move` (checked before anything is written)."""
    status = fields.pop("status", None)
    configs = {key: fields.pop(key) for key in ("config", "deployment_config") if key in fields}
    if "team" in fields:
        agent_check_team_move(agent=agent, actor=actor, team=fields["team"])
    if fields:
        for name, value in fields.items():
            setattr(agent, name, value)
        agent.save(update_fields=list(fields))
    if configs:
        updated, _ = agent_update_config(agent=agent, actor=actor, **configs)
        agent.config, agent.deployment_config = updated.config, updated.deployment_config
        agent.updated_at = updated.updated_at
    if status is not None:
        agent_set_status(agent=agent, status=status, actor=actor)
    return agent


@transaction.atomic
def agent_create_from_template(*, template: AgentTemplate, actor, name: str | None = None,
                               description: str | None = None, config: dict | None = None,
                               team=None) -> Agent:
    """A new agent owned by `actor` with the template's type and `default_config` deep-merged
    with `config`, in `team` when given (the actor must be its admin or agent manager)."""
    if team is not None and not teams_managed_by(actor).filter(pk=team.pk).exists():
        raise TemplateTeamError(f"You are not an admin or agent manager of team {team.pk}")
    return agent_create(
        actor=actor,
        name=name or template.name,
        type=template.type,
        team=team,
        description=template.description if description is None else description,
        config=deep_merge(template.default_config or {}, config or {}),
    )


def agent_update_config(*, agent: Agent, actor=None, config: dict | None = None,
                        deployment_config: dict | None = None):
    """Save new `config` / `deployment_config`; return (agent, deployment or None).

    When the config changed and `deployment_config.auto_redeploy` is true, a `config_change`
    deployment is recorded and queued for the task queue's worker in the same transaction.
    """
    with transaction.atomic():
        locked = Agent.objects.select_for_update().get(pk=agent.pk)
        changed = []
        if config is not None and config != locked.config:
            locked.config = config
            changed.append("config")
        if deployment_config is not None and deployment_config != locked.deployment_config:
            locked.deployment_config = deployment_config
            changed.append("deployment_config")
        if not changed:
            return locked, None
        locked.save(update_fields=changed)
        # The deployments app reacts (auto-redeploy, workflows/receivers.py) in this transaction.
        replies = agent_config_changed.send(sender=Agent, agent=locked, changed=changed, actor=actor)
        deployment = next((reply for _, reply in replies if reply is not None), None)
    return locked, deployment
