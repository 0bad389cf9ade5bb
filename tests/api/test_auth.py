"""JWT: obtain, claims, refresh with rotation, logout; the realtime helper functions; session
auth with CSRF; role changes taking effect on the next request."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import UserRole
from echelon.auth.tokens import InvalidAccessToken, access_token_for, token_user, user_from_access_token
from echelon.db import sqlmemo
from tests import factories as f
from tests.api.clients import client_as


@pytest.fixture
def account(db):
    return f.UserFactory(email="jwt@example.com")


def obtain(client, email="jwt@example.com", password=f.PASSWORD):
    return client.post("/api/v1/auth/token/", {"email": email, "password": password}, format="json")


def claims(token: str) -> dict:
    return jwt.decode(token, settings.SIMPLE_JWT["SIGNING_KEY"], algorithms=["HS256"])


def test_token_pair_for_email_and_password_with_the_realtime_claims(account):
    response = obtain(APIClient())
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    access = claims(body["access"])
    assert access["sub"] == str(account.pk)
    assert access["role"] == "authenticated"
    assert access["token_type"] == "access"
    assert access["exp"] > access["iat"]
    assert claims(body["refresh"])["role"] == "authenticated"


def test_access_token_authenticates_requests(account):
    access = obtain(APIClient()).json()["access"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    me = client.get("/api/v1/users/me/")
    assert me.status_code == 200 and me.json()["email"] == "jwt@example.com"


@pytest.mark.parametrize(("email", "password"), [("jwt@example.com", "wrong"), ("nobody@example.com", f.PASSWORD)])
def test_wrong_credentials_are_401_with_the_same_message(account, email, password):
    response = obtain(APIClient(), email, password)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "No active account found with the given credentials"


def test_missing_password_is_400_naming_the_field(account):
    response = APIClient().post("/api/v1/auth/token/", {"email": "jwt@example.com"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["password"]


def test_refresh_rotates_and_blacklists_the_old_refresh_token(account):
    refresh = obtain(APIClient()).json()["refresh"]
    first = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert first.status_code == 200
    assert set(first.json()) == {"access", "refresh"}
    assert claims(first.json()["access"])["role"] == "authenticated"
    assert claims(first.json()["access"])["sub"] == str(account.pk)
    replay = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert replay.status_code == 401


def test_logout_blacklists_the_refresh_token(account):
    refresh = obtain(APIClient()).json()["refresh"]
    assert APIClient().post("/api/v1/auth/logout/", {"refresh": refresh}, format="json").status_code == 204
    after = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "token_not_valid"


def test_anonymous_is_401_with_a_bearer_challenge(db):
    response = APIClient().get("/api/v1/agents/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "not_authenticated"


def test_garbage_token_is_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    assert client.get("/api/v1/agents/").status_code == 401


def test_user_from_access_token_round_trip(account):
    assert user_from_access_token(access_token_for(account)) == account


def test_user_from_access_token_rejects_expired_tampered_and_inactive(account):
    expired = AccessToken.for_user(account)
    expired.set_exp(lifetime=-timedelta(seconds=1))
    with pytest.raises(InvalidAccessToken, match="expired"):
        user_from_access_token(str(expired))
    token = access_token_for(account)
    with pytest.raises(InvalidAccessToken):
        user_from_access_token(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    account.is_active = False
    account.save(update_fields=["is_active"])
    with pytest.raises(InvalidAccessToken, match="inactive"):
        user_from_access_token(token)


def test_refresh_token_is_not_an_access_token(account):
    refresh = obtain(APIClient()).json()["refresh"]
    with pytest.raises(InvalidAccessToken):
        user_from_access_token(refresh)


def test_session_auth_works_and_enforces_csrf_on_writes(account):
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(email="jwt@example.com", password=f.PASSWORD)
    assert client.get("/api/v1/agents/").status_code == 200
    response = client.post("/api/v1/agents/", {"name": "a", "type": "market"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]


def test_losing_a_team_role_takes_effect_on_the_next_request(world):
    client = client_as(world["viewer"])  # the same token before and after
    url = f"/api/v1/agents/{world['agent_team'].pk}/"
    assert client.get(url).status_code == 200
    UserRole.objects.filter(user=world["viewer"], team=world["team"]).delete()
    assert client.get(url).status_code == 404


def test_a_demotion_takes_effect_on_the_next_request(world):
    client = client_as(world["manager"])
    url = f"/api/v1/agents/{world['agent_team'].pk}/"
    assert client.patch(url, {"description": "ok"}, format="json").status_code == 200
    UserRole.objects.filter(user=world["manager"], team=world["team"]).update(role="viewer")
    assert client.patch(url, {"description": "again"}, format="json").status_code == 403


def test_losing_a_role_empties_the_agent_list_on_the_next_request(world):
    """The agent list's memoized SQL reads memberships at query time, like every other path."""
    client = client_as(world["viewer"])
    assert [r["id"] for r in client.get("/api/v1/agents/").json()["results"]] == [str(world["agent_team"].pk)]
    UserRole.objects.filter(user=world["viewer"]).delete()
    assert client.get("/api/v1/agents/").json() == {"count": 0, "next": None, "previous": None, "results": []}


def _fields(user) -> dict:
    return {field.attname: getattr(user, field.attname) for field in type(user)._meta.concrete_fields}


def test_token_user_is_the_orm_row_for_each_user_after_the_sql_is_memoized(db):
    sqlmemo.clear()
    first, second = f.UserFactory(full_name="First"), f.UserFactory(full_name="Second", is_staff=True)
    for user in (first, second, first):  # the second and third lookups reuse the first one's SQL
        found = token_user(str(user.pk))
        expected = type(user).objects.get(pk=user.pk)
        assert found is not None and _fields(found) == _fields(expected)
        assert not found._state.adding and found._state.db == "default"
    assert token_user("00000000-0000-0000-0000-000000000000") is None


def test_a_request_with_a_token_makes_one_query_for_its_user(account, django_assert_num_queries):
    client = client_as(account)
    client.get("/api/v1/notifications/unread-count/")  # the user SQL is compiled: memoized from now on
    with django_assert_num_queries(2):  # the user, the count
        assert client.get("/api/v1/notifications/unread-count/").status_code == 200


def test_a_deactivated_or_deleted_users_token_is_401_on_the_next_request(account):
    client = client_as(account)
    assert client.get("/api/v1/agents/").status_code == 200
    account.is_active = False
    account.save(update_fields=["is_active"])
    response = client.get("/api/v1/agents/")
    assert response.status_code == 401 and response.json()["error"]["code"] == "user_inactive"
    account.delete()
    response = client.get("/api/v1/agents/")
    assert response.status_code == 401 and response.json()["error"]["code"] == "user_not_found"
