"""Shared OpenAPI pieces for hand-written API views (drf-spectacular)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse


def described(text: str) -> OpenApiResponse:
    """A JSON object response with a description."""
    return OpenApiResponse(OpenApiTypes.OBJECT, description=text)


ERRORS = {
    400: described("bad input; the message names the problem and the field"),
    401: described("not authenticated"),
    403: described("visible but not yours to change"),
    404: described("no such row, or not visible to you"),
    429: described("over the subscription tier's quota; see Retry-After"),
}
