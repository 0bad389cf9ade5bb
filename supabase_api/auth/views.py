"""`/auth/v1`: token (password, refresh_token), user (GET, PUT), logout, signup, settings.

Password sign-in authenticates through Django's `authenticate`, i.e. the login throttle
(`accounts.login_throttle.ThrottledModelBackend`) that guards every login path; a locked
account answers as a wrong password does, as on the other paths. Profile changes go through
`UserSerializer` (the `users/me` path), passwords through Django's validators.
"""

from __future__ import annotations

import orjson
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import HttpResponse
from rest_framework import exceptions

from accounts.api.serializers import UserSerializer
from supabase_api.auth import sessions
from supabase_api.auth.errors import (
    API_VERSION_HEADER,
    AuthApiError,
    api_version,
    invalid_credentials,
    validation_failed,
)
from supabase_api.auth.users import metadata_columns, user_object
from supabase_api.keys import BadJwt, SupabaseKeyAuthentication
from supabase_api.views import SupabaseView


def _json(request, body, status: int = 200) -> HttpResponse:
    response = HttpResponse(orjson.dumps(body, option=orjson.OPT_UTC_Z), status=status,
                            content_type="application/json")
    version = api_version(request)
    if version is not None:
        response[API_VERSION_HEADER] = version.isoformat()
    return response


def _body(request) -> dict:
    try:
        data = orjson.loads(request.body or b"{}")
    except orjson.JSONDecodeError:
        raise validation_failed("Could not parse request body as JSON") from None
    if not isinstance(data, dict):
        raise validation_failed("The request body must be a JSON object")
    return data


class ApiKeyOnly(SupabaseKeyAuthentication):
    """The token endpoints need the project's key; a bearer there (a stale one, too) is ignored."""

    def authenticate(self, request):
        request.META.pop("HTTP_AUTHORIZATION", None)
        return super().authenticate(request)


class AuthView(SupabaseView):
    authentication_classes = [ApiKeyOnly]

    def handle_exception(self, exc):
        if isinstance(exc, AuthApiError):
            return exc.response(self.request)
        if isinstance(exc, BadJwt):
            return AuthApiError(403, "bad_jwt", f"invalid JWT: unable to parse or verify signature, {exc.reason}"
                                ).response(self.request)
        if isinstance(exc, exceptions.Throttled):
            response = AuthApiError(429, "over_request_rate_limit", "Request rate limit reached").response(self.request)
            if exc.wait:
                response["Retry-After"] = str(int(exc.wait))
            return response
        return super().handle_exception(exc)


class SignedInView(AuthView):
    authentication_classes = [SupabaseKeyAuthentication]

    def signed_in_user(self, request):
        if not request.user.is_authenticated:
            raise AuthApiError(401, "no_authorization", "This endpoint requires a valid Bearer token")
        return request.user


class TokenView(AuthView):
    def post(self, request):
        grant = request.GET.get("grant_type")
        body = _body(request)
        if grant == "password":
            email, password = body.get("email"), body.get("password")
            if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
                raise validation_failed("Sign in with email and password")
            user = authenticate(request._request, email=email, password=password)
            if user is None:
                raise invalid_credentials()
            return _json(request, sessions.sign_in(user))
        if grant == "refresh_token":
            return _json(request, sessions.refresh(body.get("refresh_token")))
        raise AuthApiError(400, "validation_failed", "unsupported_grant_type")


class UserView(SignedInView):
    def get(self, request):
        return _json(request, user_object(self.signed_in_user(request)))

    def put(self, request):
        user = self.signed_in_user(request)
        body = _body(request)
        unknown = set(body) - {"data", "email", "password"}
        if unknown:
            raise AuthApiError(422, "validation_failed", f"Not served: {', '.join(sorted(unknown))}")
        metadata = body.get("data") or {}
        mine, _ = metadata_columns(user)
        if not isinstance(metadata, dict) or set(metadata) - mine:
            raise AuthApiError(422, "validation_failed",
                               f"user_metadata holds only {', '.join(sorted(mine))} (the users columns you write)")
        changes = dict(metadata)
        if "email" in body:
            changes["email"] = body["email"]
        with transaction.atomic():
            if changes:
                serializer = UserSerializer(user, data=changes, partial=True, context={"request": request})
                if not serializer.is_valid():
                    field, problems = next(iter(serializer.errors.items()))
                    raise AuthApiError(422, "validation_failed", f"{field}: {problems[0]}")
                user = serializer.save()
            if "password" in body:
                set_password(user, body["password"])
        return _json(request, user_object(user))


def set_password(user, password) -> None:
    if not isinstance(password, str) or not password:
        raise AuthApiError(422, "validation_failed", "password must be a non-empty string")
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        raise AuthApiError(422, "weak_password", " ".join(exc.messages),
                           weak_password={"reasons": [e.code or "characters" for e in exc.error_list]}) from None
    user.set_password(password)
    user.save(update_fields=["password"])


class LogoutView(SignedInView):
    def post(self, request):
        user = self.signed_in_user(request)
        scope = request.GET.get("scope", "global")
        if scope not in sessions.SCOPES:
            raise validation_failed(f"scope must be one of {', '.join(sessions.SCOPES)}")
        token = request.auth
        session_id = sessions.claims_of(token).get("session_id") if isinstance(token, str) else None
        sessions.sign_out(user, session_id, scope)
        return HttpResponse(status=204)


class SignupView(AuthView):
    def post(self, request):
        if not getattr(settings, "SUPABASE_AUTH_SIGNUP", False):
            raise AuthApiError(422, "signup_disabled", "Signups not allowed for this instance")
        body = _body(request)
        email, password, data = body.get("email"), body.get("password"), body.get("data") or {}
        if not isinstance(email, str) or not email:
            raise validation_failed("Signup requires a valid email")
        User = get_user_model()
        if User.objects.filter(email__iexact=email).exists():
            raise AuthApiError(422, "user_already_exists", "User already registered")
        with transaction.atomic():  # a refusal below leaves no account behind
            user = User.objects.create_user(email=email, password=None)
            set_password(user, password)
            mine, _ = metadata_columns(user)
            if not isinstance(data, dict) or set(data) - mine:
                raise AuthApiError(422, "validation_failed", f"data holds only {', '.join(sorted(mine))}")
            if data:
                request.user = user  # the new account writes its own profile
                serializer = UserSerializer(user, data=data, partial=True, context={"request": request})
                if not serializer.is_valid():
                    field, problems = next(iter(serializer.errors.items()))
                    raise AuthApiError(422, "validation_failed", f"{field}: {problems[0]}")
                user = serializer.save()
        return _json(request, sessions.sign_in(user))


class SettingsView(AuthView):
    def get(self, request):
        signup = bool(getattr(settings, "SUPABASE_AUTH_SIGNUP", False))
        return _json(request, {"external": {"email": True, "phone": False, "anonymous_users": False},
                               "disable_signup": not signup, "mailer_autoconfirm": True, "phone_autoconfirm": False,
                               "sms_provider": "", "saml_enabled": False})


def auth_not_found(request, *args):
    return AuthApiError(404, "not_found", "Not found: the GoTrue endpoints served are token, user, logout, signup "
                        "and settings (docs/supabase.md)").response(request)
