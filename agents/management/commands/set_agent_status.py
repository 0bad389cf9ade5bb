"""`manage.py set_agent_status <agent id> <status>`: an operator's path through agent_set_status."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from agents.models import Agent, AgentStatus
from agents.services import agent_set_status


class Command(BaseCommand):
    help = "Change an agent's status (notifies its owner like every other path)."

    def add_arguments(self, parser):
        parser.add_argument("agent_id")
        parser.add_argument("status", choices=AgentStatus.values)

    def handle(self, *args, agent_id: str, status: str, **options):
        try:
            agent = Agent.objects.get(pk=agent_id)
        except (Agent.DoesNotExist, ValidationError, ValueError):
            raise CommandError(f"No agent with id {agent_id!r}") from None
        old = agent.status
        if agent_set_status(agent=agent, status=status):
            self.stdout.write(f'Agent "{agent.name}": {old} → {status}')
        else:
            self.stdout.write(f'Agent "{agent.name}" is already {status}; nothing changed.')
