"""App config for realtime: connects the change capture to every registered model's writes."""

from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"

    def ready(self) -> None:
        from realtime import publisher

        publisher.connect()
