"""ASGI entry point served by daphne: HTTP through Django, websockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echelon.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up)
from django.urls import path  # noqa: E402

from notifications.realtime.consumer import RealtimeConsumer  # noqa: E402

# No origin check: the Supabase node client sends no Origin; sockets authenticate with a JWT.
websocket_urlpatterns: list = [
    path("realtime/v1/websocket", RealtimeConsumer.as_asgi()),
]

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
