"""The project-wide templates (templates/): error pages outside /api/ and the admin's branding."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string

pytestmark = pytest.mark.django_db


def test_an_unknown_page_is_the_projects_404_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found (404)" in body and "Echelon" in body


def test_an_unknown_api_url_stays_json(client):
    response = client.get("/api/v1/no-such-resource/")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"


def test_the_500_page_renders_without_a_request_context():
    assert "Server error (500)" in render_to_string("500.html")


@pytest.mark.parametrize("name,heading", [("400.html", "Bad request (400)"), ("403.html", "Forbidden (403)")])
def test_the_other_error_pages_use_the_base_layout(name, heading):
    html = render_to_string(name)
    assert heading in html and 'class="skip-link"' in html  # templates/base.html


def test_the_admin_is_branded_and_links_the_web_pages_and_api_docs(admin_client):
    body = admin_client.get("/admin/").content.decode()
    assert "Echelon administration" in body
    assert 'href="/api/docs/"' in body and ">Web dashboard<" in body
