"""Content negotiation: DRF's, answered at once for what nearly every API request sends.

DRF parses the Accept header into precedence sets and matches each against every renderer on
each request: ~4 % of an agent-page request's Python time (py-spy, bench_serving's list). With
no `?format=` and an Accept that is absent, `*/*`, or exactly the first renderer's media type,
DRF's own rules pick the first renderer with its media type; anything else goes through DRF.
"""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation


class ContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        if format_suffix is None and renderers and self.settings.URL_FORMAT_OVERRIDE not in request.query_params:
            accept, first = request.META.get("HTTP_ACCEPT"), renderers[0]
            if accept is None or accept == "*/*" or accept == first.media_type:
                return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
