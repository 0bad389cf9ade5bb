"""OpenAPI schema validity, documented errors, and the offline Swagger UI."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient


def test_schema_validates_without_warnings(db, tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert "/api/v1/agents/dashboard/" in out.read_text()


@pytest.fixture
def schema(db):
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def test_every_operation_documents_its_errors(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert codes & {"200", "201", "204"}, (method, path)
            if not path.startswith("/api/v1/auth/"):
                assert "401" in codes, (method, path)
            if "{id}" in path:
                assert "404" in codes, (method, path)
            if method in ("post", "put", "patch") and not path.endswith(("/activate/", "/pause/", "-read/")):
                assert "400" in codes, (method, path)
            error = operation["responses"].get("401") or operation["responses"].get("400")
            if error:
                assert error["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_dashboard_and_actions_have_explicit_shapes(schema):
    dashboard = schema["paths"]["/api/v1/agents/dashboard/"]["get"]["responses"]["200"]
    assert dashboard["content"]["application/json"]["schema"]["type"] == "array"
    instantiate = schema["paths"]["/api/v1/agent-templates/{id}/instantiate/"]["post"]
    assert "201" in instantiate["responses"] and "requestBody" in instantiate


def test_swagger_ui_loads_with_no_external_url(db):
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    external = re.findall(r"""(?:src|href)=["'](https?:)?//""", html)
    assert external == [], external
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert assets, "the page references its sidecar assets"
    client = APIClient()
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert APIClient().get("/api/v1/schema/").status_code == 200
