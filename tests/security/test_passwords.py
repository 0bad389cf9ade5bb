"""AUTH_PASSWORD_VALIDATORS reject weak passwords for the user model."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from tests import factories


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Ab1-xyz", "password_too_short"),
        ("password123", "password_too_common"),
        ("83749201736", "password_entirely_numeric"),
        ("caroline.weakling", "password_too_similar"),  # the email
        ("CarolineWeakling!", "password_too_similar"),  # the full name
    ],
)
def test_weak_passwords_are_rejected(db, password, code):
    user = factories.UserFactory(email="caroline.weakling@example.com", full_name="Caroline Weakling")
    with pytest.raises(ValidationError) as error:
        validate_password(password, user)
    assert code in {e.code for e in error.value.error_list}


def test_a_strong_password_passes(db):
    user = factories.UserFactory(email="caroline.weakling@example.com")
    assert validate_password("violet-Harbor-tram-2931", user) is None
