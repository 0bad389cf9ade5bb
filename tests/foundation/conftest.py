"""Foundation test fixtures: a fast password hasher (factories hash a password per user, and
PBKDF2 at production strength costs ~0.4 s each on this machine)."""

import pytest


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
