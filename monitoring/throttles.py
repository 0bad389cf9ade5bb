"""Rate limits by subscription tier, as DRF's default throttle.

Why a DRF throttle and not a middleware: API clients authenticate with JWT inside DRF, so only
after DRF's authentication is the user (and its `subscription_tier`) known; a middleware would
have to decode the token and load the user a second time on every request. Every /api/ route is
a DRF view and the throttle is the project-wide default, so the limit covers them all (a view
would have to opt out explicitly). DRF checks throttles after permissions, so a request refused
with 401/403 does not count.

Fixed windows in the shared cache (Redis when REDIS_URL is set): the counter key is
`(user or client address, window index)`, created with `cache.add` and bumped with `cache.incr`, both atomic
in Redis and in the local-memory cache, so the quota holds across processes. Anonymous requests
are limited per client address with the "anonymous" quota; the address is
`echelon.clientaddr.client_address` (REMOTE_ADDR, or the right-most untrusted X-Forwarded-For hop
behind ECHELON_TRUSTED_PROXIES), never DRF's default `get_ident`, which believes the raw
X-Forwarded-For of anyone. Paths in ECHELON_RATE_LIMIT_EXEMPT_PATHS
(the signed n8n callback) are not limited.

Warnings: the first request that reaches ECHELON_RATE_LIMIT_WARNING_PERCENT of a window's quota
sends one `rate_limit_warning` (medium), the first that reaches 100 % one more (high); a
`cache.add` once-flag per (user, window, threshold) makes that exactly once even when requests
race in several processes.

Shared cache down (Redis stopped or unreachable): the API keeps answering; the counters fall
back to a process-local cache (echelon/counters.py says how).
"""

from __future__ import annotations

import logging
import math
import time
from datetime import UTC, datetime

from django.conf import settings
from rest_framework.exceptions import APIException, Throttled
from rest_framework.throttling import BaseThrottle

from echelon.clientaddr import client_address
from echelon.counters import KEY_SLACK_SECONDS, add_once, count_request
from echelon.dates import iso_utc
from notifications.models import NotificationType, Priority
from notifications.services import notification_create

logger = logging.getLogger(__name__)




class QuotaExceeded(Throttled):
    """429 with Retry-After (DRF's handler sets it from `wait`) and a JSON body that explains."""

    def __init__(self, *, wait: int, tier: str, limit: int, window_seconds: int):
        self.wait = wait
        APIException.__init__(self, "rate limited")
        # Set after __init__, which would turn every value into a string.
        self.detail = {
            "detail": f"Rate limit exceeded: {limit} requests per {window_seconds} s for the "
                      f"{tier} tier. Retry in {wait} s.",
            "code": "rate_limited",
            "tier": tier,
            "limit": limit,
            "window_seconds": window_seconds,
            "retry_after": wait,
        }


def quota_for(tier: str) -> tuple[int, int]:
    """(requests, window_seconds) for a tier; unknown tiers get the free quota."""
    table = settings.ECHELON_RATE_LIMITS
    entry = table.get(tier) or table["free"]
    return int(entry["requests"]), int(entry["window_seconds"])


class ClientAddressThrottle(BaseThrottle):
    """Base of every throttle of ours: DRF's `get_ident` answers the trusted-proxy client address."""

    def get_ident(self, request) -> str:
        return client_address(request)


class SubscriptionTierThrottle(ClientAddressThrottle):
    def allow_request(self, request, view) -> bool:
        if request.path.startswith(tuple(settings.ECHELON_RATE_LIMIT_EXEMPT_PATHS)):
            return True
        user = request.user
        if user is not None and user.is_authenticated:
            tier = user.subscription_tier or "free"
            subject = f"user:{user.pk}"
        else:
            tier, subject = "anonymous", f"ip:{self.get_ident(request)}"
        limit, window = quota_for(tier)
        now = time.time()
        index = int(now // window)
        timeout = window + KEY_SLACK_SECONDS
        count = count_request(f"ratelimit:{subject}:{window}:{index}", timeout)

        if subject.startswith("user:"):
            self._warn(user, tier=tier, limit=limit, window=window, index=index, count=count, timeout=timeout)
        if count > limit:
            wait = max(1, math.ceil((index + 1) * window - now))
            raise QuotaExceeded(wait=wait, tier=tier, limit=limit, window_seconds=window)
        return True

    def _warn(self, user, *, tier, limit, window, index, count, timeout) -> None:
        percent = settings.ECHELON_RATE_LIMIT_WARNING_PERCENT
        for threshold, priority in ((percent, Priority.MEDIUM), (100, Priority.HIGH)):
            if count < math.ceil(limit * threshold / 100):
                continue
            if not add_once(f"ratelimit-warned:{user.pk}:{window}:{index}:{threshold}", timeout):
                continue
            window_start = datetime.fromtimestamp(index * window, UTC)
            notification_create(
                user_id=user.pk,
                type=NotificationType.RATE_LIMIT_WARNING,
                title=f"API rate limit {threshold}% used",
                message=f"You have used {threshold}% of your {tier} quota of {limit} requests per "
                        f"{window} s (window from {window_start:%H:%M:%S} UTC).",
                data={"tier": tier, "limit": limit, "window_seconds": window, "threshold_percent": threshold,
                      "window_start": iso_utc(window_start), "count": count},
                priority=priority,
            )
