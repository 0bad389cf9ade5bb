"""Login is throttled: after too many failed attempts for one email from one address, even the
right password is refused until the window passes, on the JWT endpoint and the login forms."""

import httpx
import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory
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


# --- issue 12, point 7 (b, c, d): one account, one client, and no lock-out of the owner --------

def sign_in_form(path, email, password, address):
    """POST a login form; True when it signed in (the session holds the user)."""
    client = Client(REMOTE_ADDR=address)
    client.post(path, {"username": email, "password": password})
    return "_auth_user_id" in client.session


def test_spellings_the_lookup_folds_together_share_the_account_bucket():
    """PostgreSQL's UPPER() (the lookup's case-insensitive match) folds ſ→S and ı→I, Python's
    lower() does not: every spelling that signs in to one account counts against it."""
    from accounts.models import User

    user = UserFactory(email="ann@x.test", is_staff=True)
    assert User.objects.get_by_natural_key("ann@x.teſt") == user  # the premise: one account
    for spelling in ("ann@x.teſt", "ANN@X.TEST", "ann@x.teſt"):
        assert token(spelling, "wrong").status_code == 401
    assert token("ann@x.test", PASSWORD).status_code == 401
    assert token("ann@x.teſt", PASSWORD).status_code == 401
    assert not sign_in_form("/login/", "ann@x.teſt", PASSWORD, "10.0.0.1")
    assert token("ann@x.test", PASSWORD, address="10.0.0.2").status_code == 200


def test_unknown_names_are_folded_the_same_way():
    for spelling in ("nobody@x.teſt", "NOBODY@X.TEST", "nobody@x.test"):
        token(spelling, "wrong")
    from accounts.login_throttle import LoginAttempt

    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.1")
    assert LoginAttempt(request, "Nobody@x.teſt").locked()


@pytest.mark.parametrize("path", ["/login/", "/admin/login/", TOKEN])
def test_one_address_spraying_many_accounts_is_capped(settings, path):
    """80 accounts were sprayed from one address: now ECHELON_LOGIN_ADDRESS_FAILURES failures
    over any accounts refuse that address, on every password login path."""
    settings.ECHELON_LOGIN_ADDRESS_FAILURES = 5
    users = [UserFactory(is_staff=True) for _ in range(7)]

    def sign_in(user, password, address="10.0.0.7"):
        if path == TOKEN:
            return token(user.email, password, address=address).status_code == 200
        return sign_in_form(path, user.email, password, address)

    assert sign_in(users[0], PASSWORD)  # a valid account of the sprayer: its success resets nothing
    for victim in users[1:6]:
        assert not sign_in(victim, "Summer2024!")
    assert sign_in(users[0], PASSWORD)  # known to this address: not locked out by the cap
    assert not sign_in(users[6], PASSWORD)  # the next account from the spraying address: refused
    assert sign_in(users[6], PASSWORD, address="10.0.0.8")  # elsewhere it is not


def test_many_addresses_guessing_one_account_hit_a_ceiling_but_not_the_owner(settings):
    settings.ECHELON_LOGIN_ACCOUNT_FAILURES = 6
    owner = UserFactory()
    assert token(owner.email, PASSWORD, address="192.0.2.10").status_code == 200  # her usual place
    for i in range(6):  # one guess each from six addresses: no pair bucket fills
        assert token(owner.email, "guess", address=f"198.51.100.{i}").status_code == 401
    # A new address, even with the right password, waits for the window: guesses stay bounded.
    assert token(owner.email, PASSWORD, address="198.51.100.99").status_code == 401
    # The owner, where she signed in before, is not locked out by other addresses' failures.
    assert token(owner.email, PASSWORD, address="192.0.2.10").status_code == 200
    assert sign_in_form("/login/", owner.email, PASSWORD, "192.0.2.10")


def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(settings):
    settings.ECHELON_TRUSTED_PROXIES = ["10.0.0.0/8"]
    user = UserFactory()

    def via_proxy(client, password):
        return APIClient(REMOTE_ADDR="10.0.0.1").post(
            TOKEN, {"email": user.email, "password": password}, format="json", HTTP_X_FORWARDED_FOR=client,
        ).status_code

    for _ in range(3):
        assert via_proxy("203.0.113.66", "wrong") == 401
    assert via_proxy("203.0.113.66", PASSWORD) == 401  # that client is locked
    assert via_proxy("203.0.113.7", PASSWORD) == 200  # another client behind the same proxy is not
    assert via_proxy("6.6.6.6, 203.0.113.66", PASSWORD) == 401  # a forged hop changes nothing


def test_the_async_authenticate_path_is_throttled_too():
    from asgiref.sync import async_to_sync
    from django.contrib.auth import aauthenticate

    user = UserFactory()
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.1")
    for _ in range(3):
        assert async_to_sync(aauthenticate)(request, username=user.email, password="wrong") is None
    assert async_to_sync(aauthenticate)(request, username=user.email, password=PASSWORD) is None


@pytest.mark.django_db(transaction=True)
def test_live_behind_a_trusted_proxy_one_client_cannot_lock_the_account_for_all(settings):
    """As found: a daphne behind a proxy, where every client shared the proxy's address, so
    one client's five bad attempts locked the account for everyone."""
    from django.conf import global_settings

    from tests.monitoring.servers import DaphneServer

    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS  # the server's own hashers
    user = UserFactory()
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    server = DaphneServer(ECHELON_TRUSTED_PROXIES="127.0.0.1", ECHELON_LOGIN_FAILURES="3", ECHELON_METERING="0")
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            def attempt(client, password):
                return http.post(TOKEN, json={"email": user.email, "password": password},
                                 headers={"X-Forwarded-For": client}).status_code

            statuses = [attempt("203.0.113.66", "wrong") for _ in range(3)]
            statuses.append(attempt("203.0.113.66", PASSWORD))
            statuses.append(attempt("203.0.113.7", PASSWORD))
        assert statuses == [401, 401, 401, 401, 200], server.output()
    finally:
        server.kill()
