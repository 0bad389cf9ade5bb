"""Serializer bases for the API: columns from the row policy, strict strings, storable JSON.

`ModelSerializer` takes its fields from the model's column declaration (`policy.columns`,
echelon.columns), never from a list of its own: `Meta.fields` is every column some reader may
see, `Meta.read_only_fields` every column users may not write, and each row is serialized with
the columns its reader's kind sees (`policy.reader_kind(user, row)`: a teammate's `users` row is
the public profile). A field that is not a column of the model (e.g. an execution's `agent`)
is declared in `Meta.derived` with the column it shows, and is shown when that column is.

DRF's CharField turns a number into its text (`{"slug": 0}` became the slug "0"), so a wrong
type was accepted instead of being a 400 (found by schemathesis). `ModelSerializer` here maps
the model's text fields to strict fields; declare input strings as `StrictCharField`.
"""

from __future__ import annotations

import copy

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.module_loading import autodiscover_modules
from rest_framework import serializers
from rest_framework.relations import PKOnlyObject

from echelon.jsonvalues import unstorable_message, unstorable_path
from echelon.policy import policy_for


class StrictStringMixin:
    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(StrictStringMixin, serializers.CharField):
    pass


class StrictEmailField(StrictStringMixin, serializers.EmailField):
    pass


class StrictURLField(StrictStringMixin, serializers.URLField):
    pass


class StrictSlugField(StrictStringMixin, serializers.SlugField):
    pass


class StorableJSONField(serializers.JSONField):
    """JSON without NUL characters and at most 100 levels deep: PostgreSQL refused the rest
    with a 500 (found by schemathesis; see echelon.jsonvalues)."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        path = unstorable_path(value)
        if path is not None:
            raise serializers.ValidationError(unstorable_message(path), code="invalid")
        return value


def _policy_of(model):
    try:
        return policy_for(model)
    except LookupError:  # a serializer module imported before the apps' policies
        autodiscover_modules("policies")
        return policy_for(model)


class ModelSerializer(serializers.ModelSerializer):
    """A row serializer whose fields are the policy's columns (see the module docstring)."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.EmailField: StrictEmailField,
        models.URLField: StrictURLField,
        models.SlugField: StrictSlugField,
        models.JSONField: StorableJSONField,
    }

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        meta = getattr(cls, "Meta", None)
        if meta is None or getattr(meta, "model", None) is None:
            return
        if "fields" in vars(meta) or "exclude" in vars(meta) or "read_only_fields" in vars(meta):
            raise ImproperlyConfigured(
                f"{cls.__name__}: fields come from the policy's column declaration, not from Meta")
        model = meta.model
        declared = _policy_of(model).columns
        field_columns = {f.name: f.column for f in model._meta.concrete_fields if f.column in declared.published}
        derived = dict(getattr(meta, "derived", {}))
        # field name → the column it shows (a derived field: the column it is shown with)
        cls._field_columns = {**field_columns, **derived}
        for name, field in cls._declared_fields.items():
            source = field._kwargs.get("source", name)
            column = cls._field_columns.get(name)
            if column is None or (name not in derived and source != name):
                raise ImproperlyConfigured(
                    f"{cls.__name__}.{name} is not a column of {model._meta.db_table} that the policy shows;"
                    " declare it in Meta.derived with the column it shows")
            if not field.read_only and column not in declared.writable:
                raise ImproperlyConfigured(f"{cls.__name__}.{name} writes {column}, which the policy keeps read-only")
        cls._fields_by_kind = {}

    @classmethod
    def field_names(cls) -> list[str]:
        """The fields a row may have (the union over reader kinds), in the model's field order."""
        return list(cls._field_columns)

    @classmethod
    def fields_for_kind(cls, kind: str) -> frozenset:
        """The fields a reader of `kind` gets."""
        names = cls._fields_by_kind.get(kind)
        if names is None:
            visible = policy_for(cls.Meta.model).columns.visible(kind)
            names = cls._fields_by_kind[kind] = frozenset(
                name for name, column in cls._field_columns.items() if column in visible)
        return names

    @classmethod
    def fields_for_every_reader(cls) -> frozenset:
        """The fields every reader kind gets (the schema's required response fields)."""
        kinds = policy_for(cls.Meta.model).columns.kinds
        return frozenset.intersection(*(cls.fields_for_kind(kind) for kind in kinds))

    def get_field_names(self, declared_fields, info):
        return self.field_names()

    def get_fields(self):
        """DRF's fields, built from the model once per class and deep-copied for each instance
        (as DRF copies declared fields): they depend only on the class, its Meta and the policy's
        columns, and building them was ~0.3 ms per serializer, a tenth of an agent retrieve.
        Subclasses that adjust fields per instance (`get_fields` calling super) adjust the copy."""
        template = type(self).__dict__.get("_field_template")
        if template is None:
            template = super().get_fields()
            type(self)._field_template = template
        return copy.deepcopy(template)

    def get_extra_kwargs(self):
        extra = super().get_extra_kwargs()
        declared = policy_for(self.Meta.model).columns
        for name, column in self._field_columns.items():
            if column not in declared.writable or name in getattr(self.Meta, "derived", {}):
                extra.setdefault(name, {})["read_only"] = True
        return extra

    def _readable_for(self, instance) -> list:
        """The readable fields this reader gets of `instance`, computed once per reader kind per
        serializer (a list serializes every row with one child: per row, one policy call)."""
        cache = self.__dict__.get("_readable_by_kind")
        if cache is None:
            request = self.context.get("request")
            user = getattr(request, "user", None)
            if user is None:
                # Columns depend on who reads; without a reader nothing could be decided safely.
                raise ImproperlyConfigured(
                    f"{type(self).__name__} serializes rows for a reader: pass context={{'request': ...}}")
            cache = self._readable_by_kind = {}
            self._reader_user, self._policy = user, policy_for(self.Meta.model)
        kind = self._policy.reader_kind(self._reader_user, instance)
        fields = cache.get(kind)
        if fields is None:
            shown = self.fields_for_kind(kind)
            fields = cache[kind] = [field for field in self._readable_fields if field.field_name in shown]
        return fields

    def to_representation(self, instance):
        """DRF's loop over the readable fields, limited to the columns this reader sees of this row."""
        ret = {}
        for field in self._readable_for(instance):
            attribute = field.get_attribute(instance)
            check_for_none = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            ret[field.field_name] = None if check_for_none is None else field.to_representation(attribute)
        return ret
