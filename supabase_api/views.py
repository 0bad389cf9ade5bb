"""What the /auth/v1 and /rest/v1 views share: no OpenAPI entry, no DRF parsing or content
negotiation (they speak GoTrue's and PostgREST's own formats), and the answer to a bad `apikey`."""

from __future__ import annotations

import orjson
from django.http import HttpResponse
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.views import APIView

from supabase_api.keys import ApiKeyError


class AnyAccept(BaseContentNegotiation):
    """The view answers PostgREST's media types itself; DRF's renderers are not involved."""

    def select_parser(self, request, parsers):
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class SupabaseView(APIView):
    schema = None  # PostgREST's and GoTrue's own protocols: not part of /api/v1's OpenAPI document
    permission_classes: list = []
    parser_classes: list = []
    content_negotiation_class = AnyAccept

    def handle_exception(self, exc):
        if isinstance(exc, ApiKeyError):  # the same body on both APIs, as Supabase's gateway answers it
            return HttpResponse(orjson.dumps({"message": exc.message, "hint": exc.hint}), status=401,
                                content_type="application/json")
        return super().handle_exception(exc)
