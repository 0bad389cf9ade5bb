"""CORS closed by default, CSRF on session-authenticated writes, the admin only for staff."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.utils.crypto import get_random_string

from tests import factories

pytestmark = pytest.mark.urls("tests.security.urls")

APP_ORIGIN = "https://app.example.com"


# --- CORS ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/public-echo/", "/realtime/public-echo/"])
def test_cors_is_closed_by_default(client, path, settings):
    assert settings.CORS_ALLOWED_ORIGINS == []
    response = client.get(path, HTTP_ORIGIN=APP_ORIGIN)
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = client.options(path, HTTP_ORIGIN=APP_ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in preflight.headers


@override_settings(CORS_ALLOWED_ORIGINS=[APP_ORIGIN])
@pytest.mark.parametrize("path", ["/api/public-echo/", "/realtime/public-echo/"])
def test_cors_allows_configured_origins_on_api_and_realtime(client, path):
    response = client.get(path, HTTP_ORIGIN=APP_ORIGIN)
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "Access-Control-Allow-Credentials" not in response.headers

    preflight = client.options(
        path,
        HTTP_ORIGIN=APP_ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type",
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"]


@override_settings(CORS_ALLOWED_ORIGINS=[APP_ORIGIN])
def test_cors_ignores_other_origins_and_other_paths(client):
    other_origin = client.get("/api/public-echo/", HTTP_ORIGIN="https://evil.example.net")
    assert "Access-Control-Allow-Origin" not in other_origin.headers
    other_path = client.get("/elsewhere/public-echo/", HTTP_ORIGIN=APP_ORIGIN)
    assert other_path.status_code == 200
    assert "Access-Control-Allow-Origin" not in other_path.headers


# --- CSRF on session writes --------------------------------------------------------------------


def session_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_session_authenticated_api_post_without_csrf_token_is_refused(db):
    client = session_client(factories.UserFactory())
    response = client.post("/api/security-echo/", {"name": "x"}, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]


def test_session_authenticated_api_post_with_csrf_token_is_accepted(db):
    client = session_client(factories.UserFactory())
    token = get_random_string(32)
    client.cookies["csrftoken"] = token
    response = client.post(
        "/api/security-echo/", {"name": "x"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201, response.content
    assert response.json() == {"received": {"name": "x"}}


def test_admin_logout_without_csrf_token_is_refused(db):
    client = session_client(factories.UserFactory(is_staff=True, is_superuser=True))
    response = client.post("/admin/logout/")
    assert response.status_code == 403
    assert client.get("/admin/").status_code == 200  # still logged in


# --- Admin only for staff ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin/", "/admin/agents/agent/", "/admin/accounts/user/"])
def test_admin_redirects_logged_in_non_staff_to_the_admin_login(db, path):
    client = Client()
    client.force_login(factories.UserFactory(is_staff=False))
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login/?next=")


def test_admin_login_form_refuses_non_staff_credentials(db):
    user = factories.UserFactory(is_staff=False)
    user.set_password("A-long-enough-passphrase-42")
    user.save()
    client = Client()
    response = client.post("/admin/login/", {"username": user.email, "password": "A-long-enough-passphrase-42"})
    assert response.status_code == 200
    assert "staff account" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_admin_serves_staff(db):
    client = Client()
    client.force_login(factories.UserFactory(is_staff=True, is_superuser=True))
    assert client.get("/admin/").status_code == 200
