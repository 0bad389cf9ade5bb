"""ASGI entry point served by daphne: HTTP through Django, websockets through Channels."""

import os
import sys

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echelon.settings")
django_asgi_app = get_asgi_application()
if not settings.DATABASE_POOL:
    # Under ASGI Django's connections belong to each request's context: a persistent one is left
    # behind when the request ends (until garbage collection) and PostgreSQL runs out of
    # connections (issue 12). Without the pool, a connection lives as long as its request.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0

from realtime import direct_write  # noqa: E402

if "daphne.server" in sys.modules and direct_write.enabled():
    direct_write.check_versions()  # daphne's internals are used for fan-out: verified versions only

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up)
from django.urls import path  # noqa: E402

from realtime.consumer import RealtimeConsumer  # noqa: E402
from realtime.origin import origin_checked  # noqa: E402

# A browser's Origin must be one of ALLOWED_HOSTS or CORS_ALLOWED_ORIGINS (realtime/origin.py);
# clients without Origin (the Supabase Node client) pass and authenticate with their JWT.
websocket_urlpatterns: list = [
    path("realtime/v1/websocket", RealtimeConsumer.as_asgi()),
]

from realtime import relay  # noqa: E402

# A server process (daphne's command line), not a test importing this module.
SERVED_BY_DAPHNE = "daphne.cli" in sys.modules
if SERVED_BY_DAPHNE:  # hand changes on from the start, not the first request
    relay.start_in_background()

_router = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": origin_checked(URLRouter(websocket_urlpatterns)),
    }
)


if SERVED_BY_DAPHNE:
    from echelon.gcfreeze import freeze_startup_objects

    freeze_startup_objects()


async def application(scope, receive, send):
    """The router, and this process' change relay started on its first connection (every server
    process runs one, one leads: realtime/relay.py; `REALTIME_RELAY=0` turns it off)."""
    if not relay.started():
        relay.start_in_background()
    return await _router(scope, receive, send)
