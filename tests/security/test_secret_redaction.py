"""Secrets never logged, and hidden from Django's error reports.

The records go through the handlers configured from settings.LOGGING (their stream swapped
for a buffer), so the test covers the installed configuration, not just the filter class.
"""

from __future__ import annotations

import io
import logging
import sys

import pytest
from django.conf import settings as django_settings
from django.test import RequestFactory, override_settings
from django.views.debug import get_default_exception_reporter_filter, get_exception_reporter_class

from echelon.redaction import (
    REDACTED,
    RedactingExceptionReporter,
    RedactingExceptionReporterFilter,
    RedactSecretsFilter,
)

SECRETS = {
    "SECRET_KEY": "sk-" + "Q7v9Lm2x" * 7,
    "JWT_SIGNING_KEY": "jwt-signing-" + "Zr4Tp8Kd" * 6,
    "N8N_API_KEY": "n8n-api-key-Hs83JdQ0pL",
    "N8N_WEBHOOK_SECRET": "whsec-Uu72nBv0QaZ",
    "db_password": "db-Pass-9911xyz",
    "redis_password": "redis-Pass-5531abc",
}
TOKENS = {
    "bearer": "opaque-bearer-token-77Ab",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEyMyJ9.c2lnbmF0dXJlLXZhbHVl",
    "signature": "sha256=5f2b9c0d8e7a6b5c4d3e2f1a0b9c8d7e",
    "apikey": "anon-key-1a2b3c4d5e",
    "access_token": "at-99887766554433",
}
SECRET_SETTINGS = override_settings(
    SECRET_KEY=SECRETS["SECRET_KEY"],
    JWT_SIGNING_KEY=SECRETS["JWT_SIGNING_KEY"],
    N8N_API_KEY=SECRETS["N8N_API_KEY"],
    N8N_WEBHOOK_SECRET=SECRETS["N8N_WEBHOOK_SECRET"],
    DATABASE_URL=f"postgres://echelon:{SECRETS['db_password']}@db.internal:5432/echelon",
    REDIS_URL=f"redis://:{SECRETS['redis_password']}@redis.internal:6379/0",
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"redis://:{SECRETS['redis_password']}@redis.internal:6379/0",
        }
    },
)
EVERY_SECRET = [*SECRETS.values(), *TOKENS.values()]


@pytest.fixture
def console():
    """The root's `console` handler from settings.LOGGING, writing into a buffer."""
    handler = next((h for h in logging.getLogger().handlers if h.get_name() == "console"), None)
    assert handler is not None, "settings.LOGGING must give the root logger a 'console' handler"
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


def assert_redacted(text: str, *kept: str) -> None:
    leaked = [secret for secret in EVERY_SECRET if secret in text]
    assert not leaked, f"secrets leaked into the log: {leaked}\n{text}"
    assert REDACTED in text
    for fragment in kept:
        assert fragment in text, f"{fragment!r} should survive redaction:\n{text}"


def test_every_configured_handler_has_the_redaction_filter():
    handlers = django_settings.LOGGING["handlers"]
    assert handlers
    missing = [name for name, config in handlers.items() if "redact_secrets" not in config.get("filters", [])]
    assert not missing, f"handlers without the redact_secrets filter: {missing}"
    # Django's loggers must not keep DEFAULT_LOGGING's unfiltered handlers.
    for name in ("django", "django.server", "django.request"):
        assert logging.getLogger(name).handlers == [], name


@SECRET_SETTINGS
def test_secret_settings_and_headers_are_redacted_in_messages_and_args(console):
    log = logging.getLogger("echelon.security_test")
    log.warning("settings: key=%s jwt=%s", SECRETS["SECRET_KEY"], SECRETS["JWT_SIGNING_KEY"])
    log.warning("n8n call with %s and webhook secret %s", SECRETS["N8N_API_KEY"], SECRETS["N8N_WEBHOOK_SECRET"])
    log.warning("database %s, redis %s", django_settings.DATABASE_URL, django_settings.REDIS_URL)
    log.warning(
        "request headers %r",
        {
            "Authorization": f"Bearer {TOKENS['bearer']}",
            "X-N8N-API-KEY": TOKENS["apikey"],
            "X-Echelon-Signature": TOKENS["signature"],
            "Content-Type": "application/json",
        },
    )
    log.warning("Authorization: Bearer %s", TOKENS["jwt"])
    log.warning("META %s", {"HTTP_AUTHORIZATION": f"Bearer {TOKENS['bearer']}"})
    log.warning("GET /realtime/v1/websocket?apikey=%s&vsn=1.0.0", TOKENS["apikey"])
    log.warning('callback body {"access_token": "%s", "status": "success"}', TOKENS["access_token"])
    log.warning("x-echelon-signature=%s", TOKENS["signature"])
    output = console.getvalue()
    assert len(output.splitlines()) == 9, output
    assert_redacted(
        output, "db.internal:5432/echelon", "redis.internal:6379", "application/json", "vsn=1.0.0", '"status": "success"'
    )


@SECRET_SETTINGS
def test_tracebacks_and_djangos_loggers_are_redacted(console):
    try:
        raise ConnectionError(f"could not connect to {django_settings.DATABASE_URL} with {TOKENS['jwt']}")
    except ConnectionError:
        logging.getLogger("echelon.security_test").exception("connect failed")
    logging.getLogger("django.request").warning("Forbidden: %s", {"Authorization": f"Token {TOKENS['bearer']}"})
    output = console.getvalue()
    assert "Traceback" in output and "Forbidden" in output, output
    assert_redacted(output, "ConnectionError")


def test_filter_redacts_a_record_once_and_keeps_bad_format_strings_safe():
    # One argument for two placeholders: logging would print the raw args on error.
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "user %s sent %s", (TOKENS["jwt"],), None)
    assert RedactSecretsFilter().filter(record) is True
    message = record.getMessage()
    assert record.args is None
    assert TOKENS["jwt"] not in message and REDACTED in message and message.startswith("user %s sent %s")
    RedactSecretsFilter().filter(record)
    assert record.getMessage() == message


@SECRET_SETTINGS
def test_exception_reporter_hides_secret_settings_headers_and_locals():
    reporter_filter = get_default_exception_reporter_filter()
    assert isinstance(reporter_filter, RedactingExceptionReporterFilter)
    safe_settings = repr(reporter_filter.get_safe_settings())
    assert not [s for s in SECRETS.values() if s in safe_settings], safe_settings

    request = RequestFactory().get(
        f"/api/agents/?access_token={TOKENS['access_token']}",
        HTTP_AUTHORIZATION=f"Bearer {TOKENS['jwt']}",
        HTTP_X_N8N_API_KEY=TOKENS["apikey"],
        HTTP_X_ECHELON_SIGNATURE=TOKENS["signature"],
    )
    try:
        api_key = TOKENS["apikey"]  # noqa: F841 - a secret-looking local in the failing frame
        callback_url = f"https://n8n.internal/webhook?access_token={TOKENS['access_token']}"  # noqa: F841
        raise RuntimeError("n8n refused the call")
    except RuntimeError:
        exc_info = sys.exc_info()
    reporter_class = get_exception_reporter_class(request)
    assert issubclass(reporter_class, RedactingExceptionReporter)
    with override_settings(DEBUG=False):
        reporter = reporter_class(request, *exc_info)
        reports = {"text": reporter.get_traceback_text(), "html": reporter.get_traceback_html()}
    for kind, report in reports.items():
        assert "n8n refused the call" in report, kind
        leaked = [s for s in EVERY_SECRET if s in report]
        assert not leaked, f"secrets leaked into the {kind} error report: {leaked}"
    assert "callback_url" in reports["html"] and "api_key" in reports["html"]  # the locals are shown


def test_the_served_access_log_redacts_query_strings():
    from daphne.access import AccessLogGenerator

    from echelon.management.commands.serve import daphne_cli

    buffer = io.StringIO()
    server = daphne_cli().server_class(
        application=None, endpoints=["tcp:port=0:interface=127.0.0.1"], action_logger=AccessLogGenerator(buffer)
    )
    details = {"client": "127.0.0.1:5000", "method": "GET", "status": 200, "size": 2}
    server.log_action("http", "complete", {**details, "path": f"/api/agents/?access_token={TOKENS['access_token']}&page=2"})
    server.log_action("http", "complete", {**details, "path": f"/api/agents/?apikey={TOKENS['apikey']}"})
    output = buffer.getvalue()
    assert len(output.splitlines()) == 2, output
    assert_redacted(output, "/api/agents/?access_token=", "&page=2")
