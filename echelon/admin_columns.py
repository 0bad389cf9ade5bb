"""The admin asks the row policy's column declaration (echelon.columns) for what it shows.

Mixed into `PolicyModelAdmin` and `PolicyInlineMixin` (echelon.admin), so no ModelAdmin keeps a
list of its own that could disagree with REST or realtime:

- the change form shows the columns the user's reader kind sees of that row (a `never` column
  nowhere, a teammate's `users` row as its public profile); the changelist, its filters and its
  search use the columns every row of the list shows to the user (the operator's for superusers);
- a column the user may not write (`writable`, plus `operator_writable` for superusers; nothing
  of an `ingested` row) is read-only, so owner and audit fields are the server's (`owner_field` is set from the user);
- query-string filters (`?column=value`) are allowed on those columns only: Django allows any
  on the model's own fields, which makes every hidden column an oracle (`?password__startswith`);
- a foreign key is labelled with the related row's name only when the user may read that row
  (its own policy), else with its id: a public template names its author's email to no one
  who could not read the author's profile. The raw-id widget looks its label up the same way
  (NetBox's `restrict_form_fields`).

Display methods (`json_display`, `@admin.display` helpers) declare the columns they show in a
`columns` attribute; a name that is neither a column nor such a display is a configuration
error, so a new admin field cannot bypass the declaration.
"""

from __future__ import annotations

from django.contrib.admin.utils import flatten
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.db.models import Exists, OuterRef, Value

from echelon.columns import OPERATOR
from echelon.policy import policy_for

LABEL_SUFFIX = "_label"
_SEEN = "_admin_sees_{}"


def shows_columns(*columns: str):
    """Decorator for an admin display method: the columns it shows (it is shown when they are)."""

    def mark(method):
        method.columns = columns
        return method

    return mark


def _related_policy(field):
    try:
        return policy_for(field.related_model)
    except LookupError:
        return None


class PolicyRawIdWidget(ForeignKeyRawIdWidget):
    """The raw-id widget labels an id only when it names a row of `queryset` (the rows the user
    may see): another tenant's id given as `?execution=<id>` stays an unlabelled id."""

    def __init__(self, rel, admin_site, queryset, attrs=None, using=None):
        super().__init__(rel, admin_site, attrs, using)
        self.queryset = queryset

    def label_and_url_for_value(self, value):
        key = self.rel.get_related_field().name
        try:
            visible = self.queryset.filter(**{key: value}).exists()
        except (ValueError, TypeError, ValidationError):  # a malformed id names no row
            visible = False
        return super().label_and_url_for_value(value) if visible else ("", "")


def restrict_raw_id_widget(formfield):
    """Replace Django's raw-id widget (it labels any id) by one restricted to the field's rows."""
    widget = getattr(formfield, "widget", None)
    if type(widget) is ForeignKeyRawIdWidget:
        formfield.widget = PolicyRawIdWidget(widget.rel, widget.admin_site, formfield.queryset,
                                             attrs=widget.attrs, using=widget.db)
    return formfield


class PolicyColumnsMixin:
    """Fields, list columns, filters, search and read-only state from `policy.columns`."""

    owner_field: str | None = None  # set from the request user on a new row (REST's owner_field)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.model._meta.concrete_fields:
            if field.is_relation:
                setattr(self, field.name + LABEL_SUFFIX, self._label_display(field))

    # --- the declaration for this request ------------------------------------------------------
    @property
    def _columns(self):
        return policy_for(self.model).columns

    def visible_columns(self, request, obj=None) -> frozenset:
        """The columns shown for `obj` (None: a new row) on a form of this admin."""
        return policy_for(self.model).visible_columns(request.user, obj)

    def list_columns(self, request) -> frozenset:
        """The columns a list of rows shows: the ones every row of it shows to this user."""
        if request.user.is_superuser:
            return self._columns.visible(OPERATOR)
        return self._columns.common

    def writable_columns(self, request) -> frozenset:
        return self._columns.console_writable(operator=request.user.is_superuser)

    # --- names → columns -----------------------------------------------------------------------
    def _model_field(self, name):
        if not isinstance(name, str):
            return None
        try:
            return self.model._meta.get_field(name)
        except FieldDoesNotExist:
            return None

    def _shows(self, name, visible: frozenset) -> bool:
        if name == "__str__":
            return True
        field = self._model_field(name)
        if field is not None:
            return getattr(field, "column", None) in visible and field.concrete  # a m2m is no column
        display = name if callable(name) else getattr(self, name, None) or getattr(self.model, name, None)
        columns = getattr(display, "columns", None)
        if columns is not None:
            return set(columns) <= visible
        form = getattr(self, "add_form", None), getattr(self, "form", None)
        if any(name in getattr(f, "declared_fields", {}) for f in form if f is not None):
            return True  # an input of the form that is no column (password1, usable_password)
        raise ImproperlyConfigured(
            f"{type(self).__name__}: {name!r} is neither a column of {self.model._meta.db_table} nor a display"
            " declaring the columns it shows (echelon.admin_columns.shows_columns)")

    def _is_foreign_key(self, name) -> bool:
        field = self._model_field(name)
        return field is not None and field.concrete and field.is_relation

    def _label_display(self, field):
        seen = _SEEN.format(field.name)

        def label(obj):
            related_id = getattr(obj, field.attname)
            if related_id is None:
                return None  # the admin's empty-value dash
            if getattr(obj, seen, False):
                return str(getattr(obj, field.name))
            return str(related_id)

        label.short_description = field.verbose_name
        label.admin_order_field = field.attname  # by id: ordering by name would rank hidden names
        label.columns = (field.column,)
        return label

    def with_related_visibility(self, request, queryset):
        """Annotate, per foreign key, whether the user may read the related row (one query for
        a whole changelist page; the labels above read it)."""
        annotations = {}
        for field in self.model._meta.concrete_fields:
            if not field.is_relation:
                continue
            policy = _related_policy(field)
            if request.user.is_superuser or policy is None:
                annotations[_SEEN.format(field.name)] = Value(True)
            else:
                visible = policy.visible_to(request.user).filter(pk=OuterRef(field.attname))
                annotations[_SEEN.format(field.name)] = Exists(visible)
        return queryset.annotate(**annotations) if annotations else queryset

    # --- forms -----------------------------------------------------------------------------------
    def _form_columns(self, request, obj):
        return self.visible_columns(request, obj)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        writable = self.writable_columns(request)
        for field in self.model._meta.concrete_fields:
            if field.column not in writable and field.name not in readonly and not field.primary_key:
                readonly.append(field.name)
        # a read-only foreign key is shown by its label display (see _label_display)
        readonly += [name + LABEL_SUFFIX for name in readonly if self._is_foreign_key(name)]
        return readonly

    def get_fieldsets(self, request, obj=None):
        visible = self._form_columns(request, obj)
        readonly = set(self.get_readonly_fields(request, obj))

        def shown(names):
            out = []
            for name in names:
                if isinstance(name, (list, tuple)):
                    row = shown(name)
                    if row:
                        out.append(tuple(row))
                elif self._shows(name, visible):
                    label = name + LABEL_SUFFIX if name in readonly and self._is_foreign_key(name) else name
                    if label not in flatten(out):
                        out.append(label)
            return out

        fieldsets = []
        for title, options in super().get_fieldsets(request, obj):
            fields = shown(options.get("fields", ()))
            if fields:
                fieldsets.append((title, {**options, "fields": fields}))
        return fieldsets

    def set_owner(self, request, obj) -> None:
        """A new row's owner field is the user who creates it (unless an operator chose one)."""
        if self.owner_field and getattr(obj, f"{self.owner_field}_id", None) is None:
            setattr(obj, self.owner_field, request.user)

    # --- lists -----------------------------------------------------------------------------------
    def get_list_display(self, request):
        visible = self.list_columns(request)
        return [name + LABEL_SUFFIX if self._is_foreign_key(name) else name
                for name in super().get_list_display(request) if self._shows(name, visible)]

    def get_list_filter(self, request):
        visible = self.list_columns(request)
        readable = policy_for(self.model).readable_relations
        kept = []
        for entry in super().get_list_filter(request):
            name = entry[0] if isinstance(entry, (list, tuple)) else entry
            if isinstance(name, str) and not self._shows(name, visible):
                continue
            if isinstance(name, str) and self._is_foreign_key(name) and not request.user.is_superuser \
                    and name not in readable:
                continue  # its choices would name related rows the user may not read
            kept.append(entry)
        return kept

    def lookup_allowed(self, lookup, value, request=None):
        """A filter in the query string (`?subscription_tier=pro`, `?password__startswith=`): Django
        allows any on the model's own fields, which made every hidden column an oracle. Only the
        columns the list shows, and relations only as `get_list_filter` keeps them."""
        parts = lookup.split("__")
        field = self._model_field(parts[0])
        if field is not None and request is not None:
            if getattr(field, "column", None) not in self.list_columns(request):
                return False
            if field.is_relation and len(parts) > 1 and not request.user.is_superuser \
                    and parts[0] not in policy_for(self.model).readable_relations:
                return False
        return super().lookup_allowed(lookup, value, request)

    def get_search_fields(self, request):
        """Own columns the list shows; through a relation only into rows every reader of this
        row may read (`policy.readable_relations`) and columns all their readers see."""
        visible = self.list_columns(request)
        readable = policy_for(self.model).readable_relations
        kept = []
        for entry in super().get_search_fields(request):
            path = entry.lstrip("^=@").split("__")
            field = self._model_field(path[0])
            if field is None:
                continue
            if len(path) == 1 or not field.is_relation:
                if field.column in visible:
                    kept.append(entry)
                continue
            policy = _related_policy(field)
            if policy is None or not (request.user.is_superuser or path[0] in readable):
                continue
            try:
                target = field.related_model._meta.get_field(path[1])
            except FieldDoesNotExist:
                continue
            columns = policy.columns.visible(OPERATOR) if request.user.is_superuser else policy.columns.common
            if len(path) == 2 and getattr(target, "column", None) in columns:
                kept.append(entry)
        return kept
