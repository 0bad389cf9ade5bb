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


# --- issue 19: docs a new user can follow ---------------------------------------------------------
def test_every_operation_has_a_summary(schema):
    missing = [f"{method.upper()} {path}" for path, operations in schema["paths"].items()
               for method, operation in operations.items() if not (operation.get("summary") or "").strip()]
    assert missing == [], f"operations without a summary: {missing}"


def test_tags_come_in_the_order_a_user_meets_them_and_each_is_described(schema):
    names = [tag["name"] for tag in schema["tags"]]
    assert names[:3] == ["auth", "agents", "agent-templates"] and names[-1] == "hooks"
    used = {tag for operations in schema["paths"].values() for op in operations.values() for tag in op["tags"]}
    assert used <= set(names), used - set(names)  # no tag falls to the end, undescribed
    assert all(tag.get("description") for tag in schema["tags"])


def test_the_introduction_explains_token_authorize_errors_pagination_and_realtime(schema):
    intro = schema["info"]["description"]
    for words in ("POST /api/v1/auth/token/", "Authorize", '{"error": {"code", "message", "fields"}}',
                  "?page=2", "cursor", "/realtime/v1/websocket", "`Z`"):
        assert words in intro, words


@pytest.mark.parametrize("debug", [True, False])
def test_unmatched_api_urls_answer_json_404_in_every_mode(db, settings, debug):
    settings.DEBUG = debug
    client = APIClient()
    for path in ("/api/v1/no-such-thing/", "/api/v1/agents/0.5/", "/api/nothing"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/json", (path, response["Content-Type"])
        assert response.json()["error"]["code"] == "not_found"
    assert client.get("/no-such-page/")["Content-Type"].startswith("text/html")  # pages keep HTML
