"""The GoTrue user object of an Echelon user, from the `users` column declaration.

The user reads its own row as the `self` reader kind (UserPolicy.columns): `id`, `email` and
the timestamps are GoTrue's top-level fields; the columns the user writes (besides `email`)
are its `user_metadata` (today `full_name`, `avatar_url`); the other columns it sees are set by
the server and form `app_metadata` (tier, staff and superuser flags). Columns the user does
not see (`last_login`, `is_active`, the password hash) appear nowhere: `last_sign_in_at` is null.
"""

from __future__ import annotations

from echelon.policy import policy_for

TOP_LEVEL = ("id", "email", "created_at", "updated_at")


def _iso(value):
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def metadata_columns(user) -> tuple[frozenset, frozenset]:
    """(user_metadata columns, app_metadata columns) of `user` reading its own row."""
    policy = policy_for(type(user))
    visible = policy.visible_columns(user, user) - set(TOP_LEVEL)
    mine = (policy.columns.writable - {"email"}) & visible
    return frozenset(mine), frozenset(visible - mine)


def user_object(user) -> dict:
    mine, server = metadata_columns(user)
    order = policy_for(type(user)).columns.published
    return {
        "id": str(user.pk), "aud": "authenticated", "role": "authenticated", "email": user.email,
        # Echelon accounts are created confirmed (by an operator, or by signup when enabled)
        "email_confirmed_at": _iso(user.created_at), "confirmed_at": _iso(user.created_at),
        "phone": "", "last_sign_in_at": None,
        "app_metadata": {"provider": "email", "providers": ["email"],
                         **{c: getattr(user, c) for c in order if c in server}},
        "user_metadata": {c: getattr(user, c) for c in order if c in mine},
        "identities": [], "created_at": _iso(user.created_at), "updated_at": _iso(user.updated_at),
        "is_anonymous": False,
    }
