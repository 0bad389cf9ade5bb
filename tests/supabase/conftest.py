"""Fixtures of the `/rest/v1` and `/auth/v1` tests. Rate limits are lifted (fuzz runs make many
requests in one test); `rest(user)` is a client as supabase-js calls (tests/supabase/clients.py)."""

from __future__ import annotations

import pytest

from tests.supabase.clients import supabase_client


@pytest.fixture(autouse=True)
def no_rate_limits(settings):
    settings.ECHELON_RATE_LIMITS = {tier: {"requests": 10**9, "window_seconds": 60}
                                    for tier in ("anonymous", "free", "pro", "enterprise")}


@pytest.fixture
def rest():
    """`rest(user)` → a client for `user` (None: anonymous, the anon key only)."""
    return supabase_client
