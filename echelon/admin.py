"""Shared admin building blocks: the policy-aware base ModelAdmin, fast pagination, readable JSON.

Every Echelon ModelAdmin derives from `PolicyModelAdmin`, so the admin obeys the same row
policy as the REST API and the websockets (`echelon.policy`):

- the changelist, the change form, autocomplete and FK choices only reach rows that
  `policy_for(Model).visible_to(user)` returns (others answer 404 / "doesn't exist");
- changing and deleting a row needs `editable_by` / `deletable_by`; a row saved out of the
  user's reach is rolled back with 403 (the change form runs in a transaction);
- rows the ingestion services own (`columns.ingested`: executions, thoughts, metrics, API usage)
  are read-only for everyone, superusers included: no add, change or delete here, so counters
  and states stay what the services made them (an add or a changed POST answers 403);
- staff users who are not superusers need no Django model permissions: the policy is the
  rule. Superusers see every row (the policy's single bypass);
- which columns a form, a list, a filter or a search shows, and which are read-only, come from
  the policy's column declaration (echelon.admin_columns).

Big time-series tables use `EstimatedCountPaginator` and `show_full_result_count = False`, so a
list of 100k rows never runs `COUNT(*)` over the whole table.
"""

from __future__ import annotations

import json
import uuid

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connections, models
from django.db.models import Q
from django.http import Http404
from django.utils.functional import cached_property
from django.utils.html import format_html

from echelon.admin_columns import PolicyColumnsMixin, restrict_raw_id_widget, shows_columns
from echelon.policy import policy_for

# Below this many rows (by the planner's estimate) an exact count is cheap enough.
ESTIMATE_COUNT_ABOVE = 10_000


class EstimatedCountPaginator(Paginator):
    """Paginator that reads the planner's row estimate (`pg_class.reltuples`) for unfiltered
    lists of big tables instead of `COUNT(*)`; filtered lists (and small tables) are counted."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if isinstance(queryset, models.QuerySet) and not queryset.query.where:
            estimate = self._estimate(queryset)
            if estimate >= ESTIMATE_COUNT_ABOVE:
                return estimate
        return super().count

    @staticmethod
    def _estimate(queryset) -> int:
        with connections[queryset.db].cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                [queryset.model._meta.db_table],
            )
            row = cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else -1


class PrettyJSONFormField(forms.JSONField):
    """Editable JSON shown indented, so nested configs are readable in the change form."""

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, cls=self.encoder)


def pretty_json(value) -> str:
    """Read-only, indented JSON for display fields."""
    if value is None:
        return "-"
    text = json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)
    return format_html('<pre style="margin:0;white-space:pre-wrap">{}</pre>', text)


def json_display(field_name: str, description: str | None = None):
    """A read-only admin display method showing `field_name` as indented JSON."""

    @shows_columns(field_name)
    def display(self, obj):
        return pretty_json(getattr(obj, field_name))

    display.short_description = description or field_name.replace("_", " ")
    display.__name__ = f"{field_name}_pretty"
    return display


# Status values → badge colour (background, text), shared by every status column of the admin.
BADGE_COLOURS = {
    "good": ("#dcfce7", "#166534"),  # active, deployed, success, completed
    "busy": ("#dbeafe", "#1e40af"),  # running, deploying, pending, waiting
    "bad": ("#fee2e2", "#991b1b"),  # error, failed, crashed
    "idle": ("#f3f4f6", "#374151"),  # inactive, paused, stopped, canceled
}
BADGE_KIND = {
    "active": "good", "deployed": "good", "success": "good", "completed": "good",
    "running": "busy", "deploying": "busy", "pending": "busy", "waiting": "busy", "new": "busy",
    "error": "bad", "failed": "bad", "crashed": "bad",
}


def badge(value) -> str:
    """A status value as a coloured pill (its text stays the value: searchable, copyable)."""
    if value in (None, ""):
        return "-"
    background, colour = BADGE_COLOURS[BADGE_KIND.get(str(value), "idle")]
    return format_html('<span style="background:{};color:{};padding:1px 8px;border-radius:9px;'
                       'font-weight:600;white-space:nowrap">{}</span>', background, colour, value)


def status_badge(field_name: str = "status"):
    """A list display showing `field_name` as a badge, ordered by the column."""

    @shows_columns(field_name)
    def display(self, obj):
        return badge(getattr(obj, field_name))

    display.short_description = field_name.replace("_", " ")
    display.admin_order_field = field_name
    display.__name__ = f"{field_name}_badge"
    return display


def _is_staff(request) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff)


class PolicyModelAdmin(PolicyColumnsMixin, admin.ModelAdmin):
    """ModelAdmin whose rows, permissions and FK choices follow the model's row policy."""

    show_full_result_count = False
    list_per_page = 50
    # Rows of this model are added here at all (False: only by their services, e.g. a deployment
    # by deploying); and by non-superuser staff too (the saved row must still be editable).
    adds_rows = True
    staff_can_add = True
    # FK columns (attnames) searched as well as the primary key when the search term is a UUID.
    search_uuid_fields: tuple[str, ...] = ()
    formfield_overrides = {
        models.JSONField: {
            "form_class": PrettyJSONFormField,
            "widget": forms.Textarea(attrs={"rows": 8, "cols": 80, "style": "font-family: monospace"}),
        }
    }

    @property
    def policy(self):
        return policy_for(self.model)

    @property
    def ingested(self) -> bool:
        return self.policy.columns.ingested

    # --- rows ------------------------------------------------------------------------------
    def get_queryset(self, request):
        return self.with_related_visibility(request, self.policy.visible_to(request.user, super().get_queryset(request)))

    def get_object(self, request, object_id, from_field=None):
        """A row the user may not see (or that does not exist) answers 404, not a redirect."""
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with id {object_id!r} that you may see.")
        return obj

    def get_search_results(self, request, queryset, search_term):
        """A UUID is looked up by primary key (and listed FK columns) through their indexes."""
        term = search_term.strip()
        try:
            value = uuid.UUID(term)
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        condition = Q(pk=value)
        for attname in self.search_uuid_fields:
            condition |= Q(**{attname: value})
        return queryset.filter(condition), False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        """FK choices (and what the form accepts) are the related rows the user may see."""
        if "queryset" not in kwargs:
            try:
                related_policy = policy_for(db_field.remote_field.model)
            except LookupError:
                related_policy = None
            if related_policy is not None:
                kwargs["queryset"] = related_policy.visible_to(request.user)
        return restrict_raw_id_widget(super().formfield_for_foreignkey(db_field, request, **kwargs))

    # --- permissions: the policy is the rule for staff -------------------------------------
    def has_module_permission(self, request):
        return _is_staff(request)

    def has_view_permission(self, request, obj=None):
        if not _is_staff(request):
            return False
        return obj is None or request.user.is_superuser or self.policy.can_read(request.user, obj)

    def has_add_permission(self, request):
        if not _is_staff(request) or self.ingested or not self.adds_rows:
            return False
        return request.user.is_superuser or self.staff_can_add

    def has_change_permission(self, request, obj=None):
        if not _is_staff(request) or self.ingested:
            return False
        if request.user.is_superuser:
            return super().has_change_permission(request, obj)
        return obj is None or self.policy.can_edit(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        if not _is_staff(request) or self.ingested:
            return False
        if request.user.is_superuser:
            return super().has_delete_permission(request, obj)
        return obj is None or self.policy.can_delete(request.user, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            self.set_owner(request, obj)
        super().save_model(request, obj, form, change)
        self.ensure_editable(request, obj)

    def save_formset(self, request, form, formset, change):
        """New inline rows get their owner field from the user too (e.g. a role's granted_by)."""
        owner = getattr(formset, "owner_field", None)
        if owner:
            for inline_form in formset.forms:
                instance = inline_form.instance
                if instance._state.adding and getattr(instance, f"{owner}_id", None) is None:
                    setattr(instance, owner, request.user)
        super().save_formset(request, form, formset, change)

    def ensure_editable(self, request, obj) -> None:
        """A row saved out of the user's reach is refused; the form's transaction rolls back."""
        if not request.user.is_superuser and not self.policy.can_edit(request.user, obj):
            raise PermissionDenied("The saved row would be outside what you may change.")

    def get_deleted_objects(self, objs, request):
        """A selection holding rows the user may not delete is refused as a whole.

        Django's "delete selected" then names them on its confirmation page and answers 403 to
        the confirmation, instead of deleting part of the selection and reporting the whole
        count (it counts before calling delete_queryset)."""
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        if not request.user.is_superuser:
            keys = [obj.pk for obj in objs]
            allowed = set(self.policy.deletable_by(request.user).filter(pk__in=keys).values_list("pk", flat=True))
            refused = [obj for obj in objs if obj.pk not in allowed]
            if refused:
                names = ", ".join(str(obj) for obj in refused[:5]) + (" …" if len(refused) > 5 else "")
                perms_needed.add(f"{len(refused)} {self.opts.verbose_name_plural} you may not delete ({names})")
        return deleted, model_count, perms_needed, protected

    def delete_queryset(self, request, queryset):
        """Bulk delete only what the user may delete (get_deleted_objects refused the rest)."""
        super().delete_queryset(request, self.policy.deletable_by(request.user, queryset))


class PolicyInlineMixin(PolicyColumnsMixin):
    """Inline rows follow the related model's policy too; staff may edit them when they may
    edit the parent row (both rules say the same: a deployment is editable with its agent).
    Their columns are those every row of the inline shows the user (a list's)."""

    def _form_columns(self, request, obj):
        return self.list_columns(request)  # `obj` is the parent row here

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.owner_field = self.owner_field
        return formset

    def _parent_editable(self, request, obj) -> bool:
        if not _is_staff(request):
            return False
        return request.user.is_superuser or obj is None or policy_for(obj).can_edit(request.user, obj)

    def has_view_permission(self, request, obj=None):
        return _is_staff(request)

    def has_add_permission(self, request, obj=None):
        return self._parent_editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._parent_editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._parent_editable(request, obj)

    def get_queryset(self, request):
        queryset = policy_for(self.model).visible_to(request.user, super().get_queryset(request))
        return self.with_related_visibility(request, queryset)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            try:
                kwargs["queryset"] = policy_for(db_field.remote_field.model).visible_to(request.user)
            except LookupError:
                pass
        return restrict_raw_id_widget(super().formfield_for_foreignkey(db_field, request, **kwargs))


class LimitedInlineFormSet(forms.BaseInlineFormSet):
    """Inline formset showing only the first `max_rows` rows of its (ordered) queryset."""

    max_rows = 20

    def get_queryset(self):
        if not hasattr(self, "_limited_queryset"):
            self._limited_queryset = super().get_queryset()[: self.max_rows]
        return self._limited_queryset


def limited_formset(rows: int) -> type[LimitedInlineFormSet]:
    return type(f"LimitedInlineFormSet{rows}", (LimitedInlineFormSet,), {"max_rows": rows})


class ReadOnlyInline(PolicyInlineMixin, admin.TabularInline):
    """A history inline: rows are shown (with a link to their page), never edited here."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
