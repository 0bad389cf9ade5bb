"""Shared OpenAPI pieces for hand-written API views (drf-spectacular)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse

from echelon.api.schema import ErrorSerializer


def described(text: str) -> OpenApiResponse:
    """A JSON object response with a description."""
    return OpenApiResponse(OpenApiTypes.OBJECT, description=text)


def error(text: str) -> OpenApiResponse:
    """An error response in the shared shape ({"error": {code, message, fields}})."""
    return OpenApiResponse(ErrorSerializer, description=text)


ERRORS = {
    400: error("bad input; the message names the problem and the field"),
    401: error("not authenticated"),
    403: error("visible but not yours to change"),
    404: error("no such row, or not visible to you"),
    429: error("over the subscription tier's quota; see Retry-After"),
}
