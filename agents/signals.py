"""Domain signals sent by agent services (the seed's triggers, as Django signals)."""

from django.dispatch import Signal

# A status change has no signal of its own: the seed's notification comes from the captured
# change (realtime.signals.row_changed, notifications/receivers.py), whoever wrote it.
# Sent inside the transaction that saved a new config / deployment_config: agent, changed (the
# field names), actor. A receiver may answer with the deployment it recorded (auto-redeploy).
agent_config_changed = Signal()
