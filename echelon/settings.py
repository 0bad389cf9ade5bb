"""Django settings for Echelon, read from the environment.

Development defaults are safe to run on a laptop; production is `DJANGO_ENV=production`
(or DEBUG=0) plus SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL from the environment.
"""

from __future__ import annotations

import ipaddress
import json
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from corsheaders.defaults import default_headers as cors_default_headers
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PRODUCTION = os.environ.get("DJANGO_ENV", "development") == "production"
DEBUG = env_bool("DEBUG", not PRODUCTION)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set in production")
    SECRET_KEY = "dev-only-insecure-key-" + "x" * 40

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "corsheaders",
    # The task queue (issue 18): n8n calls and periodic work, jobs in PostgreSQL (workflows/tasks.py).
    "procrastinate.contrib.django",
    "echelon",
    "accounts",
    "agents",
    "workflows",
    "notifications",
    "monitoring",
    "web",
    # Above the domain apps (the layers contract, .importlinter): they serve every app's rows.
    "realtime",  # websockets speaking the Supabase Realtime protocol (docs/realtime.md); after the apps' policies
    "supabase_api",  # /auth/v1 and /rest/v1 for supabase-js (docs/supabase.md)
]

MIDDLEWARE = [
    # /healthz, /readyz, /metrics and the per-route request metrics: first, before host checks,
    # redirects and sessions (load balancers ask by IP address; docs/deployment.md).
    "echelon.serving.middleware.OpsMiddleware",
    "monitoring.middleware.ApiUsageMiddleware",  # times the whole request (docs/monitoring.md)
    "echelon.db.unavailable.DatabaseUnavailableMiddleware",  # lost database → 503 (docs/operations.md)
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",  # CORS (docs/security.md), right after the security headers
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "echelon.api.exceptions.ApiNotFoundAsJson",  # inside CommonMiddleware: APPEND_SLASH still redirects
    # inside CORS and security headers, so a browser can read the 413 too
    "echelon.api.bodylimit.BodyLimitMiddleware",  # /api/ bodies over their limit → 413 JSON (docs/operations.md)
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "echelon.urls"
WSGI_APPLICATION = "echelon.wsgi.application"
ASGI_APPLICATION = "echelon.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: PostgreSQL only. Without DATABASE_URL the embedded pgserver is started. ---
DATABASE_URL = os.environ.get("DATABASE_URL")
if not DATABASE_URL:
    if PRODUCTION:
        raise ImproperlyConfigured("DATABASE_URL must be set in production")
    from echelon.embedded_pg import start as start_embedded_postgres

    DATABASE_URL = start_embedded_postgres()
    os.environ["DATABASE_URL"] = DATABASE_URL  # child processes (test servers) share it

DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise ImproperlyConfigured("Echelon runs on PostgreSQL only; DATABASE_URL must be postgres://")
# Connections are bounded in every mode (docs/operations.md). By default each
# process has a psycopg pool of at most DATABASE_POOL_MAX connections (the metering flusher
# keeps one of them); a request that finds them all lent waits up to DATABASE_POOL_TIMEOUT s
# (then 503). The pool also made ASGI requests 0.4x → 0.85x faster than a connection each.
# DATABASE_POOL=0: persistent connections (CONN_MAX_AGE), one per thread — for WSGI workers, or
# behind PgBouncer; under ASGI they are per request and closed at its end (echelon/asgi.py).
DEFAULT_POOL_MAX = 8
DATABASE_POOL = env_bool("DATABASE_POOL", True)
if DATABASE_POOL:
    DATABASES["default"]["OPTIONS"] = {
        "pool": {"min_size": 1, "max_size": int(os.environ.get("DATABASE_POOL_MAX", str(DEFAULT_POOL_MAX))),
                 # seconds a request waits for a connection (database down or all lent: then 503)
                 "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "10"))}
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", "60"))
# Broken connections (database restarted) are replaced, not reused: checked before each
# request's first query, or by the pool before it lends one (docs/operations.md).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
# Password logins (JWT token endpoint, web and admin forms) go through a failed-attempt throttle:
# per account + address, per address, per account from new addresses.
AUTHENTICATION_BACKENDS = ["accounts.login_throttle.ThrottledModelBackend"]
ECHELON_LOGIN_FAILURES = int(os.environ.get("ECHELON_LOGIN_FAILURES", "5"))
ECHELON_LOGIN_WINDOW_SECONDS = int(os.environ.get("ECHELON_LOGIN_WINDOW_SECONDS", "900"))
# Failures per window from one address over all accounts (spraying), and for one account from
# addresses it never signed in from (docs/security.md, login throttle).
ECHELON_LOGIN_ADDRESS_FAILURES = int(os.environ.get("ECHELON_LOGIN_ADDRESS_FAILURES", "20"))
ECHELON_LOGIN_ACCOUNT_FAILURES = int(os.environ.get("ECHELON_LOGIN_ACCOUNT_FAILURES", "100"))
ECHELON_LOGIN_KNOWN_ADDRESS_DAYS = int(os.environ.get("ECHELON_LOGIN_KNOWN_ADDRESS_DAYS", "30"))
# Client addresses (rate limits, login throttle): proxies whose X-Forwarded-For is believed,
# as addresses or networks; none by default, so REMOTE_ADDR (docs/security.md).
ECHELON_TRUSTED_PROXIES = env_list("ECHELON_TRUSTED_PROXIES")
for _proxy in ECHELON_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"ECHELON_TRUSTED_PROXIES: {_proxy!r} is not an address or network") from None

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
FORMAT_MODULE_PATH = ["echelon.formats"]  # the admin's date/time formats (echelon/formats/en)
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".data" / "static"
STATICFILES_DIRS = [p for p in [BASE_DIR / "static", BASE_DIR / "node_modules"] if p.is_dir()]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files from the finders in development so no collectstatic step is needed.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

# --- Redis and the cache ----------------------------------------------------------------
# No channel layer: realtime fans out through its own Redis pub/sub bus (realtime/bus.py).
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          # a Redis that hangs must not hang requests (rate limits fall back, docs/operations.md)
                          "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Supabase-compatible APIs (docs/supabase.md): /auth/v1/signup creates accounts only when on;
# a /rest/v1 read returns at most SUPABASE_REST_MAX_ROWS rows (Supabase's max_rows).
SUPABASE_AUTH_SIGNUP = env_bool("SUPABASE_AUTH_SIGNUP", False)
SUPABASE_REST_MAX_ROWS = int(os.environ.get("SUPABASE_REST_MAX_ROWS", "1000"))

# Realtime websockets: idle sockets (no frame, not even a heartbeat) are closed after this.
REALTIME_IDLE_TIMEOUT = float(os.environ.get("REALTIME_IDLE_TIMEOUT", "60"))
REALTIME_REDIS_CHANNEL = os.environ.get("REALTIME_REDIS_CHANNEL", "echelon:realtime")
# Presence across processes (realtime/presence.py): each server process refreshes a Redis key
# with this TTL every third of it; a process gone longer than that has its presences left.
REALTIME_PRESENCE_TTL_SECONDS = float(os.environ.get("REALTIME_PRESENCE_TTL_SECONDS", "15"))
# Bytes a server process may hold for one socket whose client stopped reading (realtime/consumer.py).
REALTIME_MAX_SEND_BUFFER_BYTES = int(os.environ.get("REALTIME_MAX_SEND_BUFFER_BYTES", str(16 * 1024 * 1024)))
# Change capture (docs/realtime.md, "Change capture"): the tables whose every write is captured
# by triggers in PostgreSQL, like a Supabase publication (None: every table with a row policy
# but api_usage; applied at migrate); the relay that hands changes on runs in each daphne
# process, one leading at a time; the change log keeps what resuming clients and processes
# that missed a bus message read, for REALTIME_LOG_RETENTION_SECONDS and at most
# REALTIME_LOG_MAX_ROWS changes; server processes look for missed changes every
# REALTIME_CATCHUP_SECONDS.
REALTIME_PUBLISHED_TABLES = (
    [t for t in os.environ["REALTIME_PUBLISHED_TABLES"].split(",") if t]
    if os.environ.get("REALTIME_PUBLISHED_TABLES") is not None else None
)
REALTIME_RELAY = env_bool("REALTIME_RELAY", True)
# Process caches kept until PostgreSQL notifies a write to their tables (realtime/table_versions.py:
# the token user's row, the agent list's total); 0 behind a transaction-mode pooler, where a
# LISTEN gets no notifications.
ECHELON_VERSIONED_CACHES = env_bool("ECHELON_VERSIONED_CACHES", True)
REALTIME_LOG_RETENTION_SECONDS = float(os.environ.get("REALTIME_LOG_RETENTION_SECONDS", "3600"))
REALTIME_LOG_MAX_ROWS = int(os.environ.get("REALTIME_LOG_MAX_ROWS", "100000"))
REALTIME_CATCHUP_SECONDS = float(os.environ.get("REALTIME_CATCHUP_SECONDS", "2"))
# /readyz fails while a captured change waits longer than this for the relay (none leads).
REALTIME_RELAY_MAX_LAG_SECONDS = float(os.environ.get("REALTIME_RELAY_MAX_LAG_SECONDS", "30"))

# --- REST framework ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "echelon.auth.authentication.JWTAuthentication",  # simplejwt's, user SQL compiled once
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "echelon.api.negotiation.ContentNegotiation",  # DRF's, a fast path
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "echelon.api.schema.EchelonAutoSchema",
    "EXCEPTION_HANDLER": "echelon.api.exceptions.api_exception_handler",
    # Requests per window by subscription tier (ECHELON_RATE_LIMITS below, docs/monitoring.md).
    "DEFAULT_THROTTLE_CLASSES": ["monitoring.throttles.SubscriptionTierThrottle"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=int(os.environ.get("JWT_ACCESS_MINUTES", "15"))),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=int(os.environ.get("JWT_REFRESH_DAYS", "7"))),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "SIGNING_KEY": os.environ.get("JWT_SIGNING_KEY", SECRET_KEY),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Echelon API",
    # The introduction of /api/docs/ (token, Authorize, errors, pagination, realtime): docs/api-intro.md.
    "DESCRIPTION": (BASE_DIR / "docs" / "api-intro.md").read_text(encoding="utf-8"),
    # Tags in the order a user meets them (Swagger UI shows them so), not alphabetically.
    "TAGS": [
        {"name": "auth", "description": "Get, refresh and revoke tokens: start here."},
        {"name": "agents", "description": "Your AI agents: create, configure, activate, pause, deploy."},
        {"name": "agent-templates", "description": "Starting points for new agents."},
        {"name": "deployments", "description": "An agent's deployments to n8n: read them, stop a live one."},
        {"name": "workflows", "description": "The n8n workflows of an agent and their counters."},
        {"name": "workflow-executions", "description": "Runs of a workflow, and their mind map."},
        {"name": "agent-thoughts", "description": "The nodes of an execution's mind map."},
        {"name": "agent-metrics", "description": "Measurements of agents over time."},
        {"name": "notifications", "description": "What happened to your agents; mark them read."},
        {"name": "teams", "description": "Teams that share agents."},
        {"name": "team-roles", "description": "Who is in a team, with which role."},
        {"name": "users", "description": "Your profile and your teammates'."},
        {"name": "api-usage", "description": "Your requests and their cost."},
        {"name": "hooks", "description": "n8n's signed callback (no token: an HMAC signature)."},
    ],
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Same-named choice fields on different models get distinct, readable enum names.
    "ENUM_NAME_OVERRIDES": {
        "AgentTypeEnum": "agents.models.AgentType",
        "AgentStatusEnum": "agents.models.AgentStatus",
        "NotificationTypeEnum": "notifications.models.NotificationType",
        "DeploymentStatusEnum": "workflows.models.DeploymentStatus",
        "ExecutionStatusEnum": "workflows.models.ExecutionStatus",
    },
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    # The API is JSON: request bodies are documented as application/json only (DRF's form
    # parsers stay for the browsable API, but form fields cannot carry JSON's null, objects or
    # lists, so documenting them promised what a form cannot say).
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "echelon.api.schema.document_empty_query_values",
    ],
}

# --- Monitoring: API usage metering and rate limits by tier (docs/monitoring.md) ----------
# Every /api/ request is buffered in-process and written to api_usage by a background COPY.
ECHELON_METERING = env_bool("ECHELON_METERING", True)
ECHELON_METERING_BACKGROUND = env_bool("ECHELON_METERING_BACKGROUND", True)  # tests flush by hand
ECHELON_METERING_BUFFER_SIZE = int(os.environ.get("ECHELON_METERING_BUFFER_SIZE", "50000"))
ECHELON_METERING_BATCH_SIZE = int(os.environ.get("ECHELON_METERING_BATCH_SIZE", "5000"))
ECHELON_METERING_FLUSH_SECONDS = float(os.environ.get("ECHELON_METERING_FLUSH_SECONDS", "1.0"))
# cost_usd per request by route pattern: "METHOD /route/" or "/route/" (any method); default 0.
ECHELON_API_PRICES = json.loads(os.environ.get("ECHELON_API_PRICES", "null")) or {
    "POST /api/v1/agent-metrics/bulk/": "0.0100",
    "GET /api/v1/agent-metrics/aggregate/": "0.0010",
    "GET /api/v1/api-usage/summary/": "0.0010",
}
# Requests per window by users.subscription_tier; "anonymous" applies per client IP.
ECHELON_RATE_LIMITS = json.loads(os.environ.get("ECHELON_RATE_LIMITS", "null")) or {
    "anonymous": {"requests": 60, "window_seconds": 60},
    "free": {"requests": 60, "window_seconds": 60},
    "pro": {"requests": 600, "window_seconds": 60},
    "enterprise": {"requests": 6000, "window_seconds": 60},
}
ECHELON_RATE_LIMIT_WARNING_PERCENT = int(os.environ.get("ECHELON_RATE_LIMIT_WARNING_PERCENT", "80"))
ECHELON_RATE_LIMIT_EXEMPT_PATHS = env_list("ECHELON_RATE_LIMIT_EXEMPT_PATHS", "/api/v1/hooks/")
# Request bodies under /api/ (docs/fuzz-findings.md): 413 JSON above the limit. The bulk
# metrics endpoint's documented 10,000 rows with metadata measure 2.2-2.8 MiB: it takes 16 MiB.
ECHELON_MAX_BODY_BYTES = int(os.environ.get("ECHELON_MAX_BODY_BYTES", str(5 * 1024 * 1024 // 2)))
ECHELON_BULK_MAX_BODY_BYTES = int(os.environ.get("ECHELON_BULK_MAX_BODY_BYTES", str(16 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = ECHELON_MAX_BODY_BYTES  # Django's own check (request.body, forms): the same limit

# --- n8n ----------------------------------------------------------------------------------
N8N_BASE_URL = os.environ.get("N8N_BASE_URL", "")
N8N_API_KEY = os.environ.get("N8N_API_KEY", "")
# Seconds an n8n call may take before its outcome counts as unknown (docs/n8n.md).
N8N_TIMEOUT_SECONDS = float(os.environ.get("N8N_TIMEOUT_SECONDS", "10"))
# Legacy only: the callback secret of workflows created before per-workflow secrets (migration
# workflows/0004); unset, such a workflow needs a rotated secret. No default: a known value
# would let anyone sign for those workflows.
N8N_WEBHOOK_SECRET = os.environ.get("N8N_WEBHOOK_SECRET", "")
# Unsigned or badly signed callbacks per client address and window, then 429 (docs/n8n.md).
ECHELON_HOOK_FAILURES = int(os.environ.get("ECHELON_HOOK_FAILURES", "20"))
ECHELON_HOOK_FAILURE_WINDOW_SECONDS = int(os.environ.get("ECHELON_HOOK_FAILURE_WINDOW_SECONDS", "60"))
# Request headers redacted from stored execution data, beside authorization, cookies and any
# *token* / *secret* / *api-key* / *signature* / *password* name (echelon/redaction.py).
ECHELON_REDACTED_HEADERS = env_list("ECHELON_REDACTED_HEADERS")

# Index names come from the seed; PostgreSQL allows 63 characters, Django's check assumes
# Oracle's 30.
SILENCED_SYSTEM_CHECKS = ["models.E034"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}, "pgserver": {"level": "WARNING"},
                # the task queue logs every registration and job at INFO: its warnings and errors only
                "procrastinate": {"level": os.environ.get("QUEUE_LOG_LEVEL", "WARNING")}},
}

# --- Security: production guards, headers, CORS, secrets kept out of logs -------------------
# Grouped here (docs/security.md); `manage.py check --deploy` reports nothing in production.
if PRODUCTION:
    def _weak_key_reason(value: str) -> str | None:
        # Django's own bar (security.W009) plus our development defaults.
        if len(value) < 50 or len(set(value)) < 5:
            return "it must be at least 50 characters with at least 5 distinct ones"
        if value.startswith(("django-insecure", "dev-only-insecure-key")):
            return "it is a development key"
        return None

    _GENERATE = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    for _name, _value in (("SECRET_KEY", SECRET_KEY), ("JWT_SIGNING_KEY", os.environ.get("JWT_SIGNING_KEY"))):
        if _value is not None and (_reason := _weak_key_reason(_value)):
            raise ImproperlyConfigured(f"{_name} is refused in production: {_reason}; {_GENERATE}")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production (comma-separated host names)")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    STORAGES["staticfiles"]["BACKEND"] = "whitenoise.storage.CompressedManifestStaticFilesStorage"

# Passwords must not resemble the user's email or name (the model has full_name, no first/last).
for _validator in AUTH_PASSWORD_VALIDATORS:
    if _validator["NAME"].endswith(".UserAttributeSimilarityValidator"):
        _validator["OPTIONS"] = {"user_attributes": ("email", "full_name")}

# CORS: closed unless CORS_ALLOWED_ORIGINS lists origins, and only for the API and realtime.
# The realtime websocket accepts a browser's Origin only from ALLOWED_HOSTS or these origins
# (realtime/origin.py).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/(api|realtime|rest|auth)/"
# what supabase-js sends and reads (headers of /rest/v1 and /auth/v1)
CORS_ALLOW_HEADERS = (*cors_default_headers, "apikey", "prefer", "range", "x-client-info", "x-supabase-api-version",
                      "accept-profile", "content-profile")
CORS_EXPOSE_HEADERS = ("content-range", "x-supabase-api-version", "preference-applied", "retry-after")
CORS_ALLOW_CREDENTIALS = False  # clients send JWTs in the Authorization header, not cookies

# Secrets never logged: every configured handler redacts; Django's own loggers drop the
# unfiltered handlers of DEFAULT_LOGGING and propagate to the root's.
LOGGING.setdefault("filters", {})["redact_secrets"] = {"()": "echelon.redaction.RedactSecretsFilter"}
for _handler in LOGGING["handlers"].values():
    _handler.setdefault("filters", []).append("redact_secrets")
for _logger in ("django", "django.server"):
    LOGGING["loggers"].setdefault(_logger, {"handlers": [], "level": "INFO", "propagate": True})
DEFAULT_EXCEPTION_REPORTER_FILTER = "echelon.redaction.RedactingExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "echelon.redaction.RedactingExceptionReporter"

# --- Production serving (docs/deployment.md) -------------------------------------------------
ECHELON_METRICS_PUBLIC = env_bool("ECHELON_METRICS_PUBLIC", False)  # /metrics through the public front
ECHELON_DRAIN_FILE = os.environ.get("ECHELON_DRAIN_FILE", "")  # while it exists, /readyz answers 503
# Fan-out frames written directly to daphne's sockets (realtime/direct_write.py);
# 0: ASGI sends (no version check; measured 8-26x slower fan-out under daphne).
REALTIME_DIRECT_WRITE = env_bool("REALTIME_DIRECT_WRITE", True)
