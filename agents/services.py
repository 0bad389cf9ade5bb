"""Agent state changes. Every status change in Echelon goes through `agent_set_status`."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from agents.models import Agent, AgentStatus
from agents.signals import agent_status_changed


@transaction.atomic
def agent_set_status(*, agent: Agent, status: str, actor=None) -> bool:
    """Set `agent.status`; return True when it changed.

    Locks the row so concurrent changes are serialized and each real change is seen once;
    sends `agent_status_changed` in the same transaction (its receivers, e.g. the seed's
    notification, roll back with it). No change, no signal.
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
    agent_status_changed.send(
        sender=Agent, agent=locked, old_status=old_status, new_status=status, actor=actor
    )
    return True


def _deep_merge(base: dict, overrides: dict) -> dict:
    """Nested objects merge key by key; any other value in `overrides` replaces the base's."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@transaction.atomic
def agent_create(*, actor, name: str, type: str, team=None, **fields) -> Agent:
    """Create an agent owned by `actor` (a new agent's status is set directly: no change yet)."""
    return Agent.objects.create(created_by=actor, name=name, type=type, team=team, **fields)


@transaction.atomic
def agent_update(*, agent: Agent, actor, **fields) -> Agent:
    """Change an agent's fields; a new `status` goes through `agent_set_status` (one signal)."""
    status = fields.pop("status", None)
    if fields:
        for name, value in fields.items():
            setattr(agent, name, value)
        agent.save(update_fields=list(fields))
    if status is not None:
        agent_set_status(agent=agent, status=status, actor=actor)
    return agent


@transaction.atomic
def agent_create_from_template(*, template, actor, name: str | None = None, team=None,
                               description: str | None = None, config: dict | None = None) -> Agent:
    """Instantiate `template`: its type, and its `default_config` deep-merged with `config`."""
    return agent_create(
        actor=actor,
        name=name or template.name,
        type=template.type,
        team=team,
        description=template.description if description is None else description,
        config=_deep_merge(template.default_config or {}, config or {}),
    )
