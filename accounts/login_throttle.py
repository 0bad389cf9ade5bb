"""Throttle for password logins. Every form of sign-in (the JWT token endpoint, the web and admin
login forms) authenticates through `ThrottledModelBackend`, so one set of rules covers them all.

Who is counted:
- the *account* is what the user lookup resolves to (`get_by_natural_key`, PostgreSQL's
  case-insensitive match, which folds `ſ`→S and `ı`→I): the user's id when one matches, so every
  spelling of one account shares its buckets; an email that matches no user is keyed on its
  NFKC form upper-cased the way the lookup compares (Python's `upper()` folds the same letters);
- the *address* is `echelon.clientaddr.client_address` (the trusted-proxy rule, docs/security.md), so behind a proxy each real client has its own buckets.

The rules, within `ECHELON_LOGIN_WINDOW_SECONDS` (a fixed window from the first failure):
1. account + address: `ECHELON_LOGIN_FAILURES` failures and that pair is refused, even with the
   right password. A success resets this bucket.
2. address: `ECHELON_LOGIN_ADDRESS_FAILURES` failures over any accounts and the address is
   refused for every account (password spraying). A success does not reset it, or one valid
   account would reset a spray.
3. account: `ECHELON_LOGIN_ACCOUNT_FAILURES` failures from all addresses together and the account
   is refused from addresses that are new to it (guessing spread over many addresses).

Why rules 2 and 3 cannot lock the owner out: an address from which the account signed in
successfully is *known* to it for `ECHELON_LOGIN_KNOWN_ADDRESS_DAYS`, and for a known pair only
rule 1 applies, which counts that pair's own failures only. Others can slow a stranger's guesses
down, never the owner at a place she signed in from before.

Counts live in the cache (Redis when REDIS_URL is set, so they hold across processes). When the
cache is unreachable the throttle fails open with a warning: a login outage would be worse.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied

from echelon.clientaddr import client_address

log = logging.getLogger(__name__)

LOCKED_MESSAGE = "Too many failed sign-in attempts; try again later."


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def normalized_login(email: str) -> str:
    """An email as the case-insensitive lookup compares it (for names that match no user)."""
    return unicodedata.normalize("NFKC", (email or "").strip()).upper()


class LoginAttempt:
    """The buckets of one sign-in attempt: who (account) from where (address)."""

    def __init__(self, request, email: str, user=None):
        self.address = client_address(request) if request is not None else ""
        self.account = f"user:{user.pk}" if user is not None else f"name:{normalized_login(email)}"
        pair = _digest(self.account, self.address)
        self.pair_key = f"login-failures:pair:{pair}"
        self.address_key = f"login-failures:addr:{_digest(self.address)}"
        self.account_key = f"login-failures:acct:{_digest(self.account)}"
        self.known_key = f"login-known:{pair}"

    def locked(self) -> bool:
        try:
            counts = cache.get_many([self.pair_key, self.address_key, self.account_key, self.known_key])
        except Exception:  # noqa: BLE001 - cache down: fail open
            log.warning("login throttle: cache unavailable, not enforcing")
            return False
        if counts.get(self.pair_key, 0) >= settings.ECHELON_LOGIN_FAILURES:
            return True
        if counts.get(self.known_key):
            return False
        return (counts.get(self.address_key, 0) >= settings.ECHELON_LOGIN_ADDRESS_FAILURES
                or counts.get(self.account_key, 0) >= settings.ECHELON_LOGIN_ACCOUNT_FAILURES)

    def failed(self) -> None:
        window = settings.ECHELON_LOGIN_WINDOW_SECONDS
        try:
            for key in (self.pair_key, self.address_key, self.account_key):
                _bump(key, window)
        except Exception:  # noqa: BLE001
            log.warning("login throttle: cache unavailable, failure not counted")

    def succeeded(self) -> None:
        try:
            cache.delete(self.pair_key)
            cache.set(self.known_key, 1, timeout=settings.ECHELON_LOGIN_KNOWN_ADDRESS_DAYS * 86400)
        except Exception:  # noqa: BLE001
            log.warning("login throttle: cache unavailable")


def _bump(key: str, window: int) -> None:
    try:
        if not cache.add(key, 1, timeout=window):
            cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)


class ThrottledModelBackend(ModelBackend):
    """Django's model backend behind the failed-login throttle (same lookup, one query)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        User = get_user_model()
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        try:
            user = User._default_manager.get_by_natural_key(username)
        except (User.DoesNotExist, User.MultipleObjectsReturned):
            user = None
        attempt = LoginAttempt(request, username, user)
        if attempt.locked():
            # Stops every backend: the right password does not help until the window passes.
            raise PermissionDenied(LOCKED_MESSAGE)
        if user is None:
            # Hash once anyway, so a missing account costs what a wrong password does (#20760).
            User().set_password(password)
        elif user.check_password(password) and self.user_can_authenticate(user):
            attempt.succeeded()
            return user
        attempt.failed()
        return None

    async def aauthenticate(self, request, username=None, password=None, **kwargs):
        # ModelBackend's async twin would skip the throttle.
        return await sync_to_async(self.authenticate)(request, username=username, password=password, **kwargs)
