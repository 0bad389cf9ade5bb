"""`manage.py record_agent_metrics`: derive success_rate and response_time per agent from its
workflow executions over a window and record them as agent metrics (run it from cron, e.g.
hourly with the default --minutes 60)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from echelon.dates import DateTimeInputError, parse_aware
from monitoring.services import agent_metrics_record_derived


def _aware(value: str) -> datetime:
    try:
        return parse_aware(value)
    except DateTimeInputError as exc:
        raise CommandError(f"{value!r} {exc}") from None


class Command(BaseCommand):
    help = "Record success_rate (percent) and response_time (ms) per agent from its recent executions."

    def add_arguments(self, parser):
        parser.add_argument("--minutes", type=int, default=60, help="window length ending at --until (default 60)")
        parser.add_argument("--until", type=_aware, help="end of the window, ISO 8601 with zone (default: now)")
        parser.add_argument("--agent", action="append", dest="agents", help="only this agent id (repeatable)")

    def handle(self, *args, minutes, until, agents, **options):
        if minutes <= 0:
            raise CommandError("--minutes must be positive")
        until = until or timezone.now()
        metrics = agent_metrics_record_derived(since=until - timedelta(minutes=minutes), until=until, agent_ids=agents)
        agents_done = len({metric.agent_id for metric in metrics})
        self.stdout.write(f"Recorded {len(metrics)} metrics for {agents_done} agents "
                          f"(executions from {until - timedelta(minutes=minutes):%Y-%m-%d %H:%M} to {until:%H:%M} UTC).")
