"""Throttle for password logins: every form of sign-in (the JWT token endpoint, the web and
admin login forms) authenticates through `ThrottledModelBackend`, which refuses an email + client
address pair after `ECHELON_LOGIN_FAILURES` failures within `ECHELON_LOGIN_WINDOW_SECONDS`.

Counts live in the cache (Redis when REDIS_URL is set, so they hold across processes). When the
cache is unreachable the throttle fails open with a warning: a login outage would be worse.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied

log = logging.getLogger(__name__)


def _key(request, email: str) -> str:
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    digest = hashlib.sha256(f"{address}|{(email or '').strip().lower()}".encode()).hexdigest()[:32]
    return f"login-failures:{digest}"


def login_locked(request, email: str) -> bool:
    try:
        return (cache.get(_key(request, email)) or 0) >= settings.ECHELON_LOGIN_FAILURES
    except Exception:  # cache down: fail open
        log.warning("login throttle: cache unavailable, not enforcing")
        return False


def login_failed(request, email: str) -> None:
    window = settings.ECHELON_LOGIN_WINDOW_SECONDS
    key = _key(request, email)
    try:
        if not cache.add(key, 1, timeout=window):
            cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)
    except Exception:
        log.warning("login throttle: cache unavailable, failure not counted")


def login_succeeded(request, email: str) -> None:
    try:
        cache.delete(_key(request, email))
    except Exception:
        log.warning("login throttle: cache unavailable")


class ThrottledModelBackend(ModelBackend):
    """Django's model backend behind the failed-login throttle."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        email = username if username is not None else kwargs.get("email", "")
        if login_locked(request, email):
            # Stops every backend: the right password does not help until the window passes.
            raise PermissionDenied("Too many failed sign-in attempts; try again later.")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            login_failed(request, email)
        else:
            login_succeeded(request, email)
        return user
