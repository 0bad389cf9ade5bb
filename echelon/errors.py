"""Domain errors raised by services; the API maps them to HTTP statuses.

Services do not know about HTTP: they raise these, and `echelon.api.exceptions` turns
`Conflict` into a 409 whose message is the exception's text.
"""


class Conflict(Exception):
    """The operation is valid in itself but not in the current state (e.g. last admin leaving)."""
