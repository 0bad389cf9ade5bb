"""Related fields whose choices are limited by the access policy.

A write naming a row the user may not use gets exactly the same 400 as a write naming a row
that does not exist, so the API cannot be used to probe other users' ids.
"""

from __future__ import annotations

from collections.abc import Callable

from rest_framework import serializers

from echelon.policy import policy_for

NOT_FOUND = 'Invalid pk "{pk_value}" - object does not exist.'


class PolicyRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary-key field restricted to `scope(user)` (default: rows the user may edit)."""

    default_error_messages = {
        "does_not_exist": NOT_FOUND,
        "incorrect_type": "Incorrect type. Expected a uuid, received {data_type}.",
    }

    def __init__(self, *, model, scope: Callable | None = None, **kwargs):
        self.model = model
        self.scope = scope
        kwargs.setdefault("queryset", model._default_manager.all())
        kwargs.setdefault("pk_field", serializers.UUIDField())  # malformed ids: "Must be a valid UUID."
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        user = getattr(request, "user", None)
        queryset = self.scope(user) if self.scope is not None else policy_for(self.model).editable_by(user)
        # Keeping the value a row already has is always allowed (e.g. a PATCH that repeats the
        # agent's team after the user left that team).
        instance = getattr(self.parent, "instance", None)
        current = getattr(instance, f"{self.source}_id", None) if self.source else None
        if current is not None:
            queryset = queryset | self.model._default_manager.filter(pk=current)
        return queryset

    def use_pk_only_optimization(self):
        return True
