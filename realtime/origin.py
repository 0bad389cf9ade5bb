"""Origin check of the realtime websocket (cross-site websocket hijacking).

A browser always sends `Origin` on a websocket upgrade, and a page of another site must not
open a socket in its visitor's name: such an Origin must be one of ALLOWED_HOSTS or of
CORS_ALLOWED_ORIGINS, as Channels' `AllowedHostsOriginValidator` checks (its matching is
reused). Unlike that validator, an upgrade without `Origin` is let through: it does not come
from a browser (the Supabase Node client sends none) and authenticates with its JWT like any
API client.
"""

from __future__ import annotations

from channels.security.websocket import OriginValidator
from django.conf import settings


class BrowserOriginValidator(OriginValidator):
    def __init__(self, application):
        super().__init__(application, allowed_origins=())

    def valid_origin(self, parsed_origin) -> bool:
        if parsed_origin is None:
            return True  # not a browser: nothing to hijack, the token decides
        self.allowed_origins = allowed_origins()  # read per upgrade: settings are the one source
        return self.validate_origin(parsed_origin)


def allowed_origins() -> list[str]:
    """ALLOWED_HOSTS (as host patterns, any scheme and port) plus the CORS origins."""
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = [".localhost", "127.0.0.1", "[::1]"]  # Django's own DEBUG default
    return [*hosts, *getattr(settings, "CORS_ALLOWED_ORIGINS", [])]


def origin_checked(application):
    """Wrap the websocket application in the Origin check."""
    return BrowserOriginValidator(application)
