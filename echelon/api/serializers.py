"""Serializer bases for the API: strings must be JSON strings, JSON must be storable.

DRF's CharField turns a number into its text (`{"slug": 0}` became the slug "0"), so a wrong
type was accepted instead of being a 400 (found by schemathesis). `ModelSerializer` here maps
the model's text fields to strict fields; declare input strings as `StrictCharField`.
"""

from __future__ import annotations

from django.db import models
from rest_framework import serializers

from echelon.jsonvalues import unstorable_message, unstorable_path


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


class ModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.EmailField: StrictEmailField,
        models.URLField: StrictURLField,
        models.SlugField: StrictSlugField,
        models.JSONField: StorableJSONField,
    }
