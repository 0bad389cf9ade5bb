"""Domain signals sent by agent services (the seed's triggers, as Django signals)."""

from django.dispatch import Signal

# Sent inside the transaction of a real status change: agent, old_status, new_status, actor.
agent_status_changed = Signal()
# Sent inside the transaction that saved a new config / deployment_config: agent, changed (the
# field names), actor. A receiver may answer with the deployment it recorded (auto-redeploy).
agent_config_changed = Signal()
