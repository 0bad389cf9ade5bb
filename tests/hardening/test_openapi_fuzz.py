"""schemathesis against the served OpenAPI schema (`/api/v1/schema/`): every operation, as a
normal user with a JWT, through Django's WSGI application inside pytest-django's test database.

No 5xx and no response that contradicts the schema (documented status code, body matching the
documented shape, content type). The number of examples per operation is bounded for CI
(`ECHELON_FUZZ_EXAMPLES`, default 8); `make fuzz` runs a longer, randomized round.
"""

from __future__ import annotations

import os
import uuid

import hypothesis
import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from echelon.auth.tokens import access_token_for
from tests.hardening.world import KNOWN_IDS, build_world

EXAMPLES = int(os.environ.get("ECHELON_FUZZ_EXAMPLES", "8"))
# CI replays the same examples on every run; `make fuzz` (ECHELON_FUZZ_RANDOM=1) explores.
RANDOM = os.environ.get("ECHELON_FUZZ_RANDOM") == "1"


def _load_schema():
    # Loaded at import (collection) time, before any test database exists: serving the schema
    # touches no table, and the metering buffer it fills is discarded by tests/conftest.py.
    with override_settings(ECHELON_METERING_BACKGROUND=False):
        return schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", WSGIHandler())


schema = _load_schema()


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """A well-formed `{id}` is also drawn from the world's rows (of every kind: the wrong kind
    must be a 404), so operations reach real rows, not only 404s. A malformed id (negative
    mode) is left as generated."""
    row_id = (path_parameters or {}).get("id")
    try:
        uuid.UUID(str(row_id))
    except ValueError:
        return st.just(path_parameters)
    return st.one_of(st.just(path_parameters),
                     st.sampled_from(KNOWN_IDS).map(lambda known: {**path_parameters, "id": known}))


@pytest.fixture
def fuzz_world(db, settings):
    # Throttling stays on (it is part of what is tested), with a quota no fuzz run reaches.
    settings.ECHELON_RATE_LIMITS = {tier: {"requests": 1_000_000, "window_seconds": 60}
                                    for tier in ("anonymous", "free", "pro", "enterprise")}
    # Django closes "old" connections at each request; inside the test's transaction that
    # would close the test database connection (Django's own test client does the same).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield build_world()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM,
    database=hypothesis.settings().database if RANDOM else None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_every_operation_as_a_normal_user(case, fuzz_world):
    # When schemathesis generated an Authorization header itself (a deliberately malformed one
    # in negative mode), it is sent as generated: replacing it behind schemathesis's back made
    # it expect a 4xx for a request that was in fact valid. Otherwise the fuzzer's JWT is sent.
    generated_auth = "Authorization" in (case.headers or {})
    token = access_token_for(fuzz_world["fuzzer"])
    response = case.call_and_validate(
        headers=None if generated_auth else {"Authorization": f"Bearer {token}"},
        # Not applied: "schema-valid input must be accepted". A request can match the schema
        # and still be refused with a documented 4xx that a schema cannot express: a foreign
        # key naming no row (or a row the user may not use), a taken slug, an aggregate window
        # over 10,000 buckets, a NUL character PostgreSQL cannot store. Every other check runs.
        excluded_checks=[positive_data_acceptance],
    )
    # A 401 would mean the run tested nothing beyond authentication (except where 401 answers
    # bad credentials in the body: the token endpoints, and the n8n callback's signature).
    if not generated_auth and not case.path.startswith(("/api/v1/auth/", "/api/v1/hooks/")):
        assert response.status_code != 401, (case.method, case.path, response.text[:200])
