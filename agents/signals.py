"""Domain signals sent by agent services (the seed's triggers, as Django signals)."""

from django.dispatch import Signal

# Sent inside the transaction of a real status change: agent, old_status, new_status, actor.
agent_status_changed = Signal()
