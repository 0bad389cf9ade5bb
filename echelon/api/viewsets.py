"""`PolicyViewSet`: a DRF viewset whose every row access goes through the model's policy.

- The queryset is `policy.visible_to(user)`, so a row the user may not read is a 404 whatever
  the method (the lookup never sees it).
- Then the object check: actions in `edit_actions` need `editable_by`, actions in
  `delete_actions` need `deletable_by`; a readable row the user may not change is a 403.
- Create and update run in one transaction and re-check that the saved row is still editable
  by the user (NetBox's rule): a write that would move a row out of the user's reach is
  rolled back with a 403.
- Owner fields (`owner_field`) are set from the request user, never from the body.
"""

from __future__ import annotations

from django.db import transaction
from rest_framework import mixins, viewsets
from rest_framework.exceptions import PermissionDenied

from echelon.api.filters import FilterBackend, OrderingFilter, SearchFilter
from echelon.policy import policy_for


# Cursor-paginated views order by their timestamp only (a client-chosen ordering would break
# the cursor), so they take filters but no `?ordering=`.
TIME_SERIES_FILTERS = [FilterBackend]
CATALOGUE_FILTERS = [FilterBackend, SearchFilter, OrderingFilter]


# Every primary key is a UUID (echelon.db.models.uuid_pk): a detail route matches UUIDs only, so
# `agents/dashboard/` is never taken for an agent id whichever app's router comes first.
UUID_LOOKUP = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class PolicyMixin:
    """Row-policy plumbing shared by read-only and read-write viewsets."""

    lookup_value_regex = UUID_LOOKUP
    edit_actions: frozenset[str] = frozenset({"update", "partial_update"})
    # action → the 403's message when the row is readable but not editable (default: generic)
    denied_messages: dict[str, str] = {}
    delete_actions: frozenset[str] = frozenset({"destroy"})
    owner_field: str | None = None
    filter_backends = CATALOGUE_FILTERS

    @property
    def policy(self):
        return policy_for(self.queryset.model)

    def get_queryset(self):
        return self.policy.visible_to(self.request.user, super().get_queryset())

    def _noun(self) -> str:
        return str(self.queryset.model._meta.verbose_name)

    def check_object_permissions(self, request, obj):
        super().check_object_permissions(request, obj)
        if self.action in self.delete_actions and not self.policy.can_delete(request.user, obj):
            raise PermissionDenied(f"You may read this {self._noun()} but not delete it.")
        if self.action in self.edit_actions and not self.policy.can_edit(request.user, obj):
            raise PermissionDenied(self.denied_messages.get(
                self.action, f"You may read this {self._noun()} but not change it."))

    def owner_values(self) -> dict:
        return {self.owner_field: self.request.user} if self.owner_field else {}

    def ensure_editable(self, instance) -> None:
        """Inside the write's transaction: the saved row must still be the user's to edit."""
        if not self.policy.can_edit(self.request.user, instance):
            raise PermissionDenied(
                f"This change would put the {self._noun()} out of your reach; nothing was saved."
            )


class ReadOnlyPolicyViewSet(PolicyMixin, viewsets.ReadOnlyModelViewSet):
    """List and retrieve the rows the policy lets the user read."""


class PolicyViewSet(PolicyMixin, viewsets.ModelViewSet):
    """Full CRUD under the row policy (see the module docstring)."""

    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def perform_create(self, serializer):
        with transaction.atomic():
            instance = serializer.save(**self.owner_values())
            self.ensure_editable(instance)

    def perform_update(self, serializer):
        with transaction.atomic():
            instance = serializer.save()
            self.ensure_editable(instance)

    def perform_destroy(self, instance):
        with transaction.atomic():
            instance.delete()


class PolicyActionViewSet(PolicyMixin, viewsets.GenericViewSet):
    """Only `@action`s, under the row policy: a higher app's actions on a lower app's rows,
    registered under the same prefix (workflows' `agents/{id}/deploy/`)."""


class ReadDeletePolicyViewSet(PolicyMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Read plus delete (e.g. notifications: the recipient reads and deletes them)."""
