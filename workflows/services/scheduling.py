"""Scheduled deployments: `trigger_type` "scheduled" with `trigger_config.run_at`.

A scheduled deployment is recorded `pending` like any other, with its version, but the request
does not run it: `deployments_run_due` (in `deployments`; `manage.py run_due_deployments` and
`sync_n8n`, both safe every minute from cron) runs each one whose `run_at` has come, publishing
the agent's workflows as they are then. Stopping a pending deployment cancels it (nothing
reaches n8n). This module holds the rules of `run_at`; it imports nothing of the state machine.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from echelon.dates import NO_OFFSET, NOT_ISO, DateTimeInputError, iso_utc, parse_aware
from echelon.errors import DomainError
from workflows.models import Deployment, DeploymentStatus, TriggerType

MAX_AHEAD = timedelta(days=365)


class ScheduleError(DomainError):
    """`run_at` is missing, unreadable, past or too far ahead (the API answers 400)."""

    field = "run_at"


def run_at_checked(value, *, now: datetime | None = None) -> datetime:
    """`value` as an aware UTC datetime strictly after `now` and at most a year ahead."""
    now = now or timezone.now()
    try:
        parsed = parse_aware(value)
    except DateTimeInputError as exc:
        if str(exc) == NO_OFFSET:
            raise ScheduleError("run_at needs a UTC offset (Z or ±hh:mm): a bare local time is ambiguous") from None
        if str(exc) == NOT_ISO:
            raise ScheduleError("run_at must be an ISO 8601 date-time, e.g. 2026-12-01T02:00:00Z") from None
        raise ScheduleError("run_at is out of range") from None
    if parsed <= now:
        raise ScheduleError(f"run_at must be in the future (now is {now.isoformat()})")
    if parsed > now + MAX_AHEAD:
        raise ScheduleError(f"run_at may be at most {MAX_AHEAD.days} days ahead")
    return parsed


def scheduled_config(trigger_config: dict, *, now: datetime | None = None) -> dict:
    """The trigger_config of a scheduled deployment, with `run_at` checked and written in UTC."""
    return {**trigger_config, "run_at": iso_utc(run_at_checked(trigger_config.get("run_at"), now=now))}


def due_deployments(*, now: datetime | None = None) -> list[Deployment]:
    """Pending scheduled deployments whose time has come, the earliest first."""
    now = now or timezone.now()
    pending = Deployment.objects.filter(status=DeploymentStatus.PENDING, trigger_type=TriggerType.SCHEDULED)
    due = [d for d in pending.only("pk", "agent_id", "version", "trigger_type", "trigger_config")
           if d.run_at is not None and d.run_at <= now]
    return sorted(due, key=lambda deployment: deployment.run_at)
