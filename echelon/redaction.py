"""Keep secrets out of logs and error reports.

`redact_text` removes the values of the project's secret settings, credentials in URLs,
JWTs, and the values of secret-looking keys (Authorization, X-N8N-API-KEY,
X-Echelon-Signature, apikey, access_token, password, ...) from any text.
`RedactSecretsFilter` applies it to every log record passing a handler (installed on all
handlers in settings.LOGGING); `RedactingExceptionReporterFilter` and
`RedactingExceptionReporter` are Django's DEFAULT_EXCEPTION_REPORTER_FILTER and
DEFAULT_EXCEPTION_REPORTER (error e-mails and the technical 500 page).
`RedactingAccessLog` is daphne's access log (written to stdout, outside `logging`) with the
query string redacted, as `manage.py serve` uses it.

`redact_headers` does the same for stored data: n8n's webhook trigger items carry every request
header of the call that started the run (`{"headers": {"authorization": ...}}`), and ingestion
(`workflows.services.executions`) passes every execution's data through it before storage.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from daphne.access import AccessLogGenerator
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

REDACTED = "[REDACTED]"

# Settings whose values are secrets wherever they show up in a log line.
SECRET_SETTINGS = ("SECRET_KEY", "JWT_SIGNING_KEY", "N8N_API_KEY", "N8N_WEBHOOK_SECRET")
# Settings that are URLs whose password is a secret.
URL_SETTINGS = ("DATABASE_URL", "REDIS_URL")
# Shorter values are too likely to occur in ordinary text to be replaced blindly.
MIN_SECRET_LENGTH = 8

# What in a key's name makes its value a secret: Authorization, X-N8N-API-KEY,
# X-Echelon-Signature, apikey, access_token, refresh_token, password, *_secret, ...
SECRET_NAME = r"authorization|api[-_]?key|signature|token|secret|password|passwd"
# `key: value`, `key=value`, `'key': 'value'`, `("key", "value")` where the key names a
# secret (also HTTP_AUTHORIZATION, csrfmiddlewaretoken, ...).
_KEYED_SECRET = re.compile(
    r"""(?P<key>(?<![\w-])[\w-]{0,40}(?:""" + SECRET_NAME + r"""))"""
    r"""(?P<sep>['"]?\s*[:=]\s*['"]?|['"]\s*,\s*['"])"""
    r"""(?P<value>(?:(?:bearer|basic|token|jwt)\s+)?[^\s'"&,;)}\]]+)""",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<password>[^@\s/]+)(?P<at>@)", re.I)
_JWT = re.compile(r"\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*")


def secret_values() -> list[str]:
    """The current values of secret settings (longest first, so overlaps redact whole)."""
    from django.conf import settings

    if not settings.configured:
        return []
    values: list[str] = []
    for name in SECRET_SETTINGS:
        values.append(getattr(settings, name, "") or "")
    values.extend(getattr(settings, "SECRET_KEY_FALLBACKS", []) or [])
    values.append((getattr(settings, "SIMPLE_JWT", {}) or {}).get("SIGNING_KEY") or "")
    for database in (getattr(settings, "DATABASES", {}) or {}).values():
        values.append(database.get("PASSWORD") or "")
    for name in URL_SETTINGS:
        try:
            values.append(urlsplit(getattr(settings, name, "") or "").password or "")
        except ValueError:
            continue
    found = {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH}
    return sorted(found, key=len, reverse=True)


def redact_text(text: str) -> str:
    """`text` with every secret we can recognise replaced by [REDACTED]."""
    for value in secret_values():
        if value in text:
            text = text.replace(value, REDACTED)
    text = _URL_PASSWORD.sub(lambda m: m["head"] + REDACTED + m["at"], text)
    text = _JWT.sub(REDACTED, text)
    return _KEYED_SECRET.sub(
        lambda m: m["key"] + m["sep"] + (m["value"] if m["value"] == REDACTED else REDACTED), text
    )


# Request headers whose values are credentials: the secret-looking names above plus cookies
# (Cookie, Set-Cookie); settings.ECHELON_REDACTED_HEADERS names more (exact, any case).
_SECRET_HEADER = re.compile(SECRET_NAME + "|cookie", re.IGNORECASE)


def _extra_secret_headers() -> frozenset[str]:
    from django.conf import settings

    names = getattr(settings, "ECHELON_REDACTED_HEADERS", ()) if settings.configured else ()
    return frozenset(name.lower() for name in names)


def header_is_secret(name, extra: frozenset[str] | None = None) -> bool:
    if not isinstance(name, str):
        return False
    extra = _extra_secret_headers() if extra is None else extra
    return bool(_SECRET_HEADER.search(name)) or name.lower() in extra


# Keys (lower case) holding request headers: n8n's items and a failed request's context
# (`headers`), and the HTTP Request node's parameters (`headerParameters.parameters`, which an
# error's `node` carries into the error workflow's callback).
HEADER_KEYS = frozenset({"headers", "headerparameters"})


def _redact_header_values(headers, extra: frozenset[str]) -> None:
    if isinstance(headers, dict) and isinstance(headers.get("parameters"), list):
        headers = headers["parameters"]
    if isinstance(headers, dict):  # n8n's items, Node's request: {"x-webhook-token": "..."}
        for name, value in headers.items():
            if value is not None and header_is_secret(name, extra):
                headers[name] = REDACTED
    elif isinstance(headers, list):  # n8n's node parameters: [{"name": ..., "value": ...}]
        for pair in headers:
            if isinstance(pair, dict) and "value" in pair and header_is_secret(pair.get("name"), extra):
                pair["value"] = REDACTED


def redact_headers(value):
    """`value` (parsed JSON) with the value of every secret header replaced by [REDACTED], in
    every object under a HEADER_KEYS key at any depth. Changes `value` in place and returns it.

    Iterative, so a value nested as deep as the JSON parser allows cannot exhaust the stack.
    """
    extra = _extra_secret_headers()
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, item in node.items():
                if isinstance(key, str) and key.lower() in HEADER_KEYS:
                    _redact_header_values(item, extra)
                if isinstance(item, (dict, list)):
                    stack.append(item)
        elif isinstance(node, list):
            stack.extend(item for item in node if isinstance(item, (dict, list)))
    return value


class RedactSecretsFilter(logging.Filter):
    """Redacts the message (after %-formatting with its args), traceback and stack of a record.

    The args are merged into the message because a secret can hide in any of them (a dict
    of headers, a URL, an exception); downstream handlers then see only the redacted text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "echelon_redacted", False):
            return True  # already done by another handler's filter
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must still not leak its args
            message = f"{record.msg} {record.args!r}"
        record.msg = redact_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        record.echelon_redacted = True
        return True


class RedactingExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, hiding more setting names and redacting secrets inside values
    (a Redis URL with a password in CACHES, a token in a local variable)."""

    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|CREDENTIAL|PRIVATE|HTTP_COOKIE|DATABASE_URL|REDIS_URL",
        flags=re.IGNORECASE,
    )

    def cleanse_setting(self, key, value):
        cleansed = super().cleanse_setting(key, value)
        return redact_text(cleansed) if isinstance(cleansed, str) else cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        variables = super().get_traceback_frame_variables(request, tb_frame)
        if not self.is_active(request):
            return variables
        return [(name, self._cleanse_variable(name, value)) for name, value in variables]

    def _cleanse_variable(self, name, value):
        if isinstance(name, str) and self.hidden_settings.search(name):
            return self.cleansed_substitute
        return redact_text(value) if isinstance(value, str) else value


class RedactingExceptionReporter(ExceptionReporter):
    """Django's reporter shows the query string, the URI and the repr of frame locals
    (`<WSGIRequest: GET '/x?access_token=...'>`) unfiltered: redact them too."""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        if self.request is not None:
            data["request_GET_items"] = [
                (key, self.filter.cleanse_setting(key, value)) for key, value in self.request.GET.items()
            ]
            data["request_insecure_uri"] = redact_text(str(data.get("request_insecure_uri", "")))
        for frame in data.get("frames", []):  # `lastframe` is one of these dicts
            if "vars" in frame:
                frame["vars"] = [(k, redact_text(v) if isinstance(v, str) else v) for k, v in frame["vars"]]
        return data


class RedactingAccessLog(AccessLogGenerator):
    """Daphne logs HTTP requests with their query string (`?access_token=...`)."""

    def write_entry(self, host, date, request, status=None, length=None, ident=None, user=None):
        super().write_entry(host, date, redact_text(request), status, length, ident, user)
