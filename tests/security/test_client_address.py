"""Client addresses come from one function (`echelon.clientaddr.client_address`) that believes
X-Forwarded-For only from ECHELON_TRUSTED_PROXIES (none by default), and every rate limit keys on
it: rotating X-Forwarded-For no longer buys a fresh anonymous quota (issue 12, point 7a)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest
from django.test import RequestFactory
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from echelon.clientaddr import client_address, resolve, scope_client_address
from tests.monitoring.servers import DaphneServer
from tests.monitoring.limits import limits, wait_for_fresh_window

TOKEN = "/api/v1/auth/token/"  # anonymous (AllowAny), so the anonymous quota applies


def test_without_trusted_proxies_the_peer_is_the_client(settings):
    settings.ECHELON_TRUSTED_PROXIES = []
    assert resolve("198.51.100.7", "203.0.113.1, 10.0.0.1") == "198.51.100.7"
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_address(request) == "198.51.100.7"


def test_behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client(settings):
    settings.ECHELON_TRUSTED_PROXIES = ["10.0.0.0/8", "::1"]
    # The client wrote "6.6.6.6" itself; 203.0.113.9 is what the first trusted proxy saw.
    assert resolve("10.0.0.2", "6.6.6.6, 203.0.113.9, 10.1.2.3") == "203.0.113.9"
    assert resolve("::1", "203.0.113.9") == "203.0.113.9"
    assert resolve("::ffff:10.0.0.2", "[2001:db8::5]:4711") == "2001:db8::5"
    # Only proxies on the way: the nearest of them; no header: the proxy itself.
    assert resolve("10.0.0.2", "10.9.9.9") == "10.9.9.9"
    assert resolve("10.0.0.2", "") == "10.0.0.2"
    # Garbage ends the walk at the last trusted hop; it never names a client.
    assert resolve("10.0.0.2", "203.0.113.9, not-an-ip") == "10.0.0.2"
    # A peer that is not trusted is the client, whatever it forwards.
    assert resolve("198.51.100.7", "203.0.113.9") == "198.51.100.7"


def test_websocket_scopes_use_the_same_rule(settings):
    settings.ECHELON_TRUSTED_PROXIES = ["127.0.0.1"]
    scope = {"client": ("127.0.0.1", 5000), "headers": [(b"x-forwarded-for", b"6.6.6.6, 203.0.113.4")]}
    assert scope_client_address(scope) == "203.0.113.4"
    assert scope_client_address({"client": None, "headers": []}) == "unknown"


def test_an_invalid_trusted_proxy_setting_is_refused_at_start():
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; settings.INSTALLED_APPS"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "echelon.settings",
             "ECHELON_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0 and "ECHELON_TRUSTED_PROXIES: 'proxy.local'" in result.stderr


def test_every_configured_drf_throttle_keys_on_client_address():
    from monitoring.throttles import ClientAddressThrottle

    for throttle in api_settings.DEFAULT_THROTTLE_CLASSES:
        assert issubclass(throttle, ClientAddressThrottle), throttle
        assert throttle.get_ident is ClientAddressThrottle.get_ident


@pytest.mark.django_db
def test_rotating_x_forwarded_for_does_not_reset_the_anonymous_quota(settings):
    settings.ECHELON_RATE_LIMITS = limits()  # anonymous: 3 per hour
    wait_for_fresh_window(3600, 30)
    statuses = [
        APIClient(REMOTE_ADDR="198.51.100.20").post(TOKEN, {}, format="json",
                                                    HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code
        for i in range(6)
    ]
    assert statuses == [400, 400, 400, 429, 429, 429]


@pytest.mark.django_db
def test_live_behind_a_trusted_proxy_each_real_client_has_its_own_quota():
    """A daphne that trusts 127.0.0.1 (as behind a local nginx): spoofed left-hand hops change
    nothing; the hop the proxy appended is the client."""
    server = DaphneServer(ECHELON_TRUSTED_PROXIES="127.0.0.1",
                          ECHELON_RATE_LIMITS=json.dumps(limits()), ECHELON_METERING="0")
    try:
        wait_for_fresh_window(3600, 60)
        with httpx.Client(base_url=server.url, timeout=30) as http:
            def post(forwarded):
                return http.post(TOKEN, json={}, headers={"X-Forwarded-For": forwarded}).status_code

            first = [post(f"10.{i}.0.1, 203.0.113.50") for i in range(5)]
            second = [post(f"10.{i}.0.1, 203.0.113.51") for i in range(3)]
        assert first == [400, 400, 400, 429, 429], server.output()
        assert second == [400, 400, 400], server.output()
    finally:
        server.kill()
