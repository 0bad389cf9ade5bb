"""Token serializers: email + password in, access + refresh out, with the `role` claim."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer

from echelon.auth.tokens import refresh_token_for


class EmailTokenObtainSerializer(TokenObtainPairSerializer):
    """`{"email", "password"}` → `{"access", "refresh"}` (email is the user model's login)."""

    @classmethod
    def get_token(cls, user):
        return refresh_token_for(user)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class RefreshRequestSerializer(serializers.Serializer):
    refresh = serializers.CharField()
