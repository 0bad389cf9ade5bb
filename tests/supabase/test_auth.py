"""`/auth/v1` as GoTrue answers: sessions, claims, the API-version error rule, rotation on the
existing blacklist, sign-out scopes, the user object from the column declaration, profile and
password changes, signup behind its setting, and the login throttle of every login path."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from echelon.auth.tokens import anon_key
from tests import factories as f
from tests.supabase.clients import supabase_client

pytestmark = pytest.mark.django_db
V2024 = {"HTTP_X_SUPABASE_API_VERSION": "2024-01-01"}


def sign_in(user, password=f.PASSWORD, **headers):
    return supabase_client(None).post("/auth/v1/token?grant_type=password",
                                      {"email": user.email, "password": password}, format="json", **headers)


def test_password_sign_in_answers_a_gotrue_session_with_its_claims():
    user = f.UserFactory(full_name="Ada")
    response = sign_in(user, **V2024)
    assert response.status_code == 200 and response["X-Supabase-Api-Version"] == "2024-01-01"
    session = response.json()
    assert session["token_type"] == "bearer" and 0 < session["expires_in"] <= 900
    claims = AccessToken(session["access_token"])
    assert {k: claims[k] for k in ("sub", "aud", "role", "email")} == {
        "sub": str(user.pk), "aud": "authenticated", "role": "authenticated", "email": user.email}
    assert claims["session_id"] and claims["exp"] == session["expires_at"] and claims["iat"]
    body = session["user"]
    assert body["id"] == str(user.pk) and body["aud"] == body["role"] == "authenticated"
    assert body["user_metadata"] == {"full_name": "Ada", "avatar_url": None}
    assert body["app_metadata"] == {"provider": "email", "providers": ["email"], "subscription_tier": "free",
                                    "is_superuser": False, "is_staff": False}
    assert "last_login" not in str(body) and body["last_sign_in_at"] is None  # the operator's column
    # the same token works on /api/v1 and /rest/v1
    api = APIClient().get("/api/v1/users/me/", HTTP_AUTHORIZATION=f"Bearer {session['access_token']}")
    assert api.status_code == 200


def test_errors_follow_the_api_version_header():
    user = f.UserFactory()
    response = sign_in(user, "wrong", **V2024)
    assert response.status_code == 400 and response.json() == {"code": "invalid_credentials",
                                                                "message": "Invalid login credentials"}
    response = sign_in(user, "wrong")
    assert response.json() == {"code": 400, "error_code": "invalid_credentials", "msg": "Invalid login credentials"}
    assert "X-Supabase-Api-Version" not in response
    response = supabase_client(None, key="").post("/auth/v1/token?grant_type=password", {}, format="json")
    assert response.status_code == 401 and response.json()["message"] == "No API key found in request"
    response = supabase_client(None).post("/auth/v1/token?grant_type=magic", {}, format="json", **V2024)
    assert response.status_code == 400 and response.json()["code"] == "validation_failed"


def test_the_login_throttle_guards_this_path_too(settings):
    settings.ECHELON_LOGIN_FAILURES = 3
    user = f.UserFactory()
    for _ in range(3):
        assert sign_in(user, "wrong").status_code == 400
    assert sign_in(user).status_code == 400  # locked: the right password does not help, as on the other paths


def test_refresh_rotates_and_a_used_refresh_token_is_refused():
    user = f.UserFactory()
    first = sign_in(user).json()
    client = supabase_client(None)
    second = client.post("/auth/v1/token?grant_type=refresh_token", {"refresh_token": first["refresh_token"]},
                         format="json", **V2024)
    assert second.status_code == 200
    new = second.json()
    assert new["refresh_token"] != first["refresh_token"] and new["user"]["id"] == str(user.pk)
    assert AccessToken(new["access_token"])["session_id"] == AccessToken(first["access_token"])["session_id"]
    again = client.post("/auth/v1/token?grant_type=refresh_token", {"refresh_token": first["refresh_token"]},
                        format="json", **V2024)
    assert again.status_code == 400 and again.json()["code"] == "refresh_token_already_used"
    bogus = client.post("/auth/v1/token?grant_type=refresh_token", {"refresh_token": "nope"}, format="json", **V2024)
    assert bogus.json()["code"] == "refresh_token_not_found"


@pytest.mark.parametrize(("scope", "alive"), [("local", {"other"}), ("others", {"this"}), ("global", set())])
def test_sign_out_scopes(scope, alive):
    user = f.UserFactory()
    sessions = {"this": sign_in(user).json(), "other": sign_in(user).json()}
    client = supabase_client(None, token=sessions["this"]["access_token"])
    assert client.post(f"/auth/v1/logout?scope={scope}").status_code == 204
    def refreshes(session) -> bool:
        return supabase_client(None).post("/auth/v1/token?grant_type=refresh_token",
                                          {"refresh_token": session["refresh_token"]}, format="json").status_code == 200

    refreshed = {name for name, session in sessions.items() if refreshes(session)}
    assert refreshed == alive


def test_get_and_update_the_user():
    user = f.UserFactory(full_name="Old")
    token = sign_in(user).json()["access_token"]
    client = supabase_client(None, token=token)
    assert client.get("/auth/v1/user").json()["email"] == user.email
    response = client.put("/auth/v1/user", {"data": {"full_name": "New", "avatar_url": "https://x.test/a.png"}},
                          format="json", **V2024)
    assert response.status_code == 200 and response.json()["user_metadata"]["full_name"] == "New"
    response = client.put("/auth/v1/user", {"data": {"is_superuser": True}}, format="json", **V2024)
    assert response.status_code == 422 and response.json()["code"] == "validation_failed"
    response = client.put("/auth/v1/user", {"password": "123"}, format="json", **V2024)
    assert response.status_code == 422 and response.json()["code"] == "weak_password"
    assert response.json()["weak_password"]["reasons"]
    assert client.put("/auth/v1/user", {"password": "a much better passphrase 9"}, format="json").status_code == 200
    user.refresh_from_db()
    assert user.full_name == "New" and user.check_password("a much better passphrase 9") and not user.is_superuser
    assert supabase_client(None).get("/auth/v1/user", **V2024).json()["code"] == "no_authorization"
    bad = supabase_client(None, token="x.y.z").get("/auth/v1/user", **V2024)
    assert bad.status_code == 403 and bad.json()["code"] == "bad_jwt"


def test_signup_is_off_by_default_and_makes_a_session_when_on(settings):
    body = {"email": "new@example.com", "password": "a long enough passphrase", "data": {"full_name": "Newbie"}}
    response = supabase_client(None).post("/auth/v1/signup", body, format="json", **V2024)
    assert response.status_code == 422 and response.json()["code"] == "signup_disabled"
    settings.SUPABASE_AUTH_SIGNUP = True
    response = supabase_client(None).post("/auth/v1/signup", body, format="json", **V2024)
    assert response.status_code == 200 and response.json()["user"]["user_metadata"]["full_name"] == "Newbie"
    again = supabase_client(None).post("/auth/v1/signup", body, format="json", **V2024)
    assert again.status_code == 422 and again.json()["code"] == "user_already_exists"
    weak = supabase_client(None).post("/auth/v1/signup", {"email": "w@example.com", "password": "1"}, format="json")
    assert weak.status_code == 422 and not User.objects.filter(email="w@example.com").exists()


def test_anon_key_command_prints_the_key_last(capsys):
    call_command("anon_key")
    assert capsys.readouterr().out.strip().splitlines()[-1] == anon_key()
