"""App config for realtime: the change-capture triggers follow the settings after each migrate,
and the publisher receives every captured change (realtime/relay.py sends them)."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RealtimeConfig(AppConfig):
    name = "realtime"

    def ready(self) -> None:
        from echelon.serving import health
        from realtime import capture, publisher, relay

        publisher.connect()
        health.register("relay", relay.check_ready)  # /readyz: changes are handed on
        post_migrate.connect(capture.sync_after_migrate, sender=self, dispatch_uid="realtime:sync_triggers")
