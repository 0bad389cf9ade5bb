"""Login is throttled: after too many failed attempts for one email from one address, even the
right password is refused until the window passes, on the JWT endpoint and the login forms."""

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.ECHELON_LOGIN_FAILURES = 3
    cache.clear()


def token(email, password, address="10.0.0.1"):
    return APIClient(REMOTE_ADDR=address).post(TOKEN, {"email": email, "password": password}, format="json")


def test_right_password_works_below_the_limit():
    user = UserFactory()
    for _ in range(2):
        assert token(user.email, "wrong").status_code == 401
    assert token(user.email, PASSWORD).status_code == 200


def test_right_password_is_refused_after_too_many_failures():
    user = UserFactory()
    for _ in range(3):
        assert token(user.email, "wrong").status_code == 401
    assert token(user.email, PASSWORD).status_code == 401
    # Another client address, or the same address for another account, is not affected.
    assert token(user.email, PASSWORD, address="10.0.0.2").status_code == 200
    other = UserFactory()
    assert token(other.email, PASSWORD).status_code == 200


def test_a_success_resets_the_count():
    user = UserFactory()
    for _ in range(2):
        token(user.email, "wrong")
    assert token(user.email, PASSWORD).status_code == 200
    for _ in range(2):
        token(user.email, "wrong")
    assert token(user.email, PASSWORD).status_code == 200


def test_the_web_and_admin_login_forms_are_throttled_too():
    user = UserFactory(is_staff=True)
    for path in ("/login/", "/admin/login/"):
        cache.clear()
        client = Client(REMOTE_ADDR="10.0.0.3")
        for _ in range(3):
            assert client.post(path, {"username": user.email, "password": "wrong"}).status_code == 200
        refused = client.post(path, {"username": user.email, "password": PASSWORD})
        assert refused.status_code == 200 and "_auth_user_id" not in client.session, path
        cache.clear()  # the window passed: the same form signs in
        assert client.post(path, {"username": user.email, "password": PASSWORD}).status_code == 302, path
        assert "_auth_user_id" in client.session, path
