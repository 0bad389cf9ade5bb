"""WSGI entry point (HTTP only; websockets need the ASGI application)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echelon.settings")
application = get_wsgi_application()

from echelon.gcfreeze import freeze_startup_objects  # noqa: E402  (needs Django set up)

freeze_startup_objects()  # a server process (gunicorn's workers load this module): docs in the module
