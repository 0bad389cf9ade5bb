"""Production settings: `check --deploy` is clean, and missing or weak secrets refuse to start.

Each case starts a fresh `manage.py` in a subprocess, because settings are read once per
process. The DATABASE_URL points at a closed port: the deploy check must not need the DB.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

UNREACHABLE_DB = "postgres://echelon:db-password-1234@127.0.0.1:9/echelon"


def production_env(**overrides: str | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "SECURE_", "CORS_", "JWT_", "N8N_")) and key not in {"DEBUG", "SECRET_KEY"}
    }
    env.update(
        DJANGO_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="echelon.example.com",
        DATABASE_URL=UNREACHABLE_DB,
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_nothing_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in result.stdout, output
    assert "WARNING" not in output and "security.W" not in output, output


def test_check_deploy_in_the_subprocess_does_flag_an_insecure_setting():
    """The clean run above means something: the same run with DEBUG=1 is flagged."""
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(DEBUG="1"))
    assert result.returncode != 0
    assert "security.W018" in result.stderr + result.stdout


def test_production_cookies_and_transport_settings():
    script = (
        "import json; from django.conf import settings as s; print(json.dumps({k: getattr(s, k) for k in "
        "['DEBUG', 'SESSION_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'CSRF_COOKIE_SECURE', "
        "'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'X_FRAME_OPTIONS', 'CORS_ALLOWED_ORIGINS']}))"
    )
    result = manage("shell", "-c", script, env=production_env())
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "X_FRAME_OPTIONS": "DENY",
        "CORS_ALLOWED_ORIGINS": [],
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY must be set in production"),
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set in production"),
        ({"DATABASE_URL": None}, "DATABASE_URL must be set in production"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS must be set in production"),
        ({"SECRET_KEY": "short-key"}, "SECRET_KEY is refused in production: it must be at least 50 characters"),
        ({"SECRET_KEY": "ab" * 40}, "SECRET_KEY is refused in production: it must be at least 50 characters"),
        ({"SECRET_KEY": "django-insecure-" + secrets.token_urlsafe(50)}, "SECRET_KEY is refused in production: it is a development key"),
        ({"SECRET_KEY": "dev-only-insecure-key-" + "x" * 40}, "SECRET_KEY is refused in production: it is a development key"),
        ({"JWT_SIGNING_KEY": "jwt-secret"}, "JWT_SIGNING_KEY is refused in production: it must be at least 50 characters"),
    ],
    ids=["no-secret-key", "empty-secret-key", "no-database-url", "no-allowed-hosts", "short-key",
         "few-distinct-chars", "django-insecure-key", "dev-default-key", "short-jwt-key"],
)
def test_production_refuses_to_start_without_safe_secrets(overrides, message):
    result = manage("check", env=production_env(**overrides))
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr, result.stderr[-2000:]
