"""The `web` app: templates, static ES modules and the page views."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "web"
    verbose_name = "Web pages"
