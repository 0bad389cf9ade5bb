"""`make audit` fails loudly, naming the cause, when PyPI's vulnerability data is unavailable.

The check script runs as `make audit` runs it, against a local HTTP server standing in for
PyPI's JSON API (a third-party service).
"""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from django.conf import settings

SCRIPT = settings.BASE_DIR / ".ci" / "audit_service_check.py"


def run_check(tmp_path, base_url: str) -> subprocess.CompletedProcess:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# pinned\nDjango==5.2.19\nasgiref==3.13.0\n")
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(requirements)],
        env={"AUDIT_PYPI_JSON_URL": base_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_release_document_with_vulnerabilities_lets_the_audit_run(httpserver, tmp_path):
    httpserver.expect_request("/pypi/Django/5.2.19/json").respond_with_json({"info": {}, "vulnerabilities": []})
    result = run_check(tmp_path, httpserver.url_for("/pypi"))
    assert result.returncode == 0, result.stderr
    assert "reachable" in result.stdout


@pytest.mark.parametrize(
    ("respond", "cause"),
    [
        (lambda request: request.respond_with_data("", status=404), "answered HTTP 404"),
        (lambda request: request.respond_with_json({"info": {}}), "without a 'vulnerabilities' list"),
        (lambda request: request.respond_with_data("<html>", status=200), "did not answer JSON"),
    ],
    ids=["http-404", "no-vulnerabilities-key", "not-json"],
)
def test_an_unusable_answer_fails_with_the_cause(httpserver, tmp_path, respond, cause):
    respond(httpserver.expect_request("/pypi/Django/5.2.19/json"))
    result = run_check(tmp_path, httpserver.url_for("/pypi"))
    assert result.returncode == 2
    assert "the dependency audit did NOT run" in result.stderr
    assert cause in result.stderr


def test_an_unreachable_service_fails_with_the_cause(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_check(tmp_path, f"http://127.0.0.1:{port}/pypi")
    assert result.returncode == 2
    assert "the dependency audit did NOT run: cannot reach" in result.stderr
