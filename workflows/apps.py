"""App config for workflows."""

from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import policies, receivers  # noqa: F401  (registers row policies and signal receivers)
