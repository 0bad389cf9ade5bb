"""The negotiation fast path answers exactly what DRF's own negotiation answers."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from echelon.api.negotiation import ContentNegotiation

RENDERERS = [JSONRenderer(), BrowsableAPIRenderer()]


def choice(negotiation, accept, path="/api/v1/agents/"):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(path, **headers))
    try:
        renderer, media_type = negotiation.select_renderer(request, RENDERERS)
    except NotAcceptable:
        return "406"
    return type(renderer).__name__, media_type


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "", "text/html", "application/json; indent=2",
                                    "application/xml", "text/html, application/json;q=0.9", "application/*"])
@pytest.mark.parametrize("path", ["/api/v1/agents/", "/api/v1/agents/?format=api", "/api/v1/agents/?format=json"])
def test_the_fast_path_agrees_with_drf(accept, path):
    assert choice(ContentNegotiation(), accept, path) == choice(DefaultContentNegotiation(), accept, path)


def test_the_fast_path_is_the_api_default():
    from rest_framework.views import APIView

    assert APIView.content_negotiation_class is ContentNegotiation
