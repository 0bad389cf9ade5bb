"""Issue 19 in the browser: the mind map at 200 nodes (root visible after load, a new node panned
into view, a phone layout, collapsing), charts with axes, a legend, tooltips and the min–max band,
one time format across a live patch, and the web actions (create an agent, from a template too,
edit its config, confirm a deploy, stop a deployment; buttons enabled only when possible)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agents.models import AgentStatus
from echelon.auth.tokens import access_token_for
from monitoring.models import MetricType, MetricUnit
from tests import factories
from tests.web.conftest import PHONE, wait_live
from tests.web.test_browser import tree_of, world  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IN_VIEW = """(sel) => {
  const wrap = document.getElementById('mindmap').getBoundingClientRect();
  const r = document.querySelector(sel).getBoundingClientRect();
  return r.width > 0 && r.left >= wrap.left - 1 && r.top >= wrap.top - 1
    && r.right <= wrap.right + 1 && r.bottom <= wrap.bottom + 1;
}"""
TEXT_INSIDE = """() => [...document.querySelectorAll('svg.mindmap g.node')].every(g => {
  const box = g.querySelector('rect').getBoundingClientRect();
  return [...g.querySelectorAll('text')].filter(t => !t.closest('.toggle')).every(t => {
    const r = t.getBoundingClientRect();
    return r.width === 0 || (r.left >= box.left - 1 && r.right <= box.right + 1);
  });
})"""


def big_execution(world, count=200):
    workflow = factories.WorkflowFactory(agent=world["mine"][0])
    execution = factories.WorkflowExecutionFactory(workflow=workflow)
    tree_of(execution, count)
    return execution


def post_thought(web_url, owner, execution, node_id, parent):
    response = httpx.post(
        f"{web_url}/api/v1/workflow-executions/{execution.pk}/thoughts/",
        json=[{"node_id": node_id, "node_type": "output", "content": "A late conclusion", "parent_node_id": parent}],
        headers={"Authorization": f"Bearer {access_token_for(owner)}"}, timeout=10)
    assert response.status_code == 201, response.text


def test_the_mind_map_at_200_nodes_shows_the_root_and_follows_a_new_node(open_page, web_url, world):
    owner = world["owner"]
    execution = big_execution(world)
    page = open_page(owner, f"/executions/{execution.pk}/mind-map/")
    expect(page.locator("svg.mindmap g.node")).to_have_count(200)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0  # no 2,751 px canvas
    assert page.evaluate(IN_VIEW, 'g.node[data-node-id="n0"]'), "the root is off-screen after load"
    assert float(page.locator("svg.mindmap").get_attribute("data-scale")) >= 0.7  # readable, not a speck
    assert page.evaluate(TEXT_INSIDE), "a node's text overflows its box"
    wait_live(page)
    # the deepest, last leaf's child: far from the root, off-screen at load
    assert not page.evaluate(IN_VIEW, 'g.node[data-node-id="n121"]')
    post_thought(web_url, owner, execution, "late", "n121")
    expect(page.locator('g.node[data-node-id="late"]')).to_have_count(1)
    page.wait_for_function(f"({IN_VIEW})('g.node[data-node-id=\"late\"]')", timeout=5_000)
    # zoom buttons change the scale; Fit shows it all again
    before = float(page.locator("svg.mindmap").get_attribute("data-scale"))
    page.get_by_role("button", name="Zoom in").click()
    page.wait_for_function(f"Number(document.querySelector('svg.mindmap').dataset.scale) > {before}")
    page.get_by_role("button", name="Fit").click()
    page.wait_for_function("Number(document.querySelector('svg.mindmap').dataset.scale) < 0.7")
    assert page.js_errors == [], page.js_errors


def test_the_mind_map_collapses_a_subtree(open_page, world):
    execution = big_execution(world, 13)  # n0 → n1..n3 → n4..n12
    page = open_page(world["owner"], f"/executions/{execution.pk}/mind-map/")
    expect(page.locator("svg.mindmap g.node")).to_have_count(13)
    page.locator('g.toggle[data-toggle="n1"]').click()
    expect(page.locator("svg.mindmap g.node")).to_have_count(10)
    expect(page.locator('g.toggle[data-toggle="n1"]')).to_contain_text("+3")
    page.locator('g.toggle[data-toggle="n1"]').click()
    expect(page.locator("svg.mindmap g.node")).to_have_count(13)
    assert page.js_errors == [], page.js_errors


def test_the_mind_map_on_a_phone_lays_out_top_down_with_the_root_in_view(open_page, world):
    execution = big_execution(world)
    page = open_page(world["owner"], f"/executions/{execution.pk}/mind-map/", viewport=PHONE)
    expect(page.locator("svg.mindmap g.node")).to_have_count(200)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert page.evaluate(IN_VIEW, 'g.node[data-node-id="n0"]')
    visible = page.evaluate("""() => [...document.querySelectorAll('svg.mindmap g.node')].filter(g => {
      const w = document.getElementById('mindmap').getBoundingClientRect(), r = g.getBoundingClientRect();
      return r.right > w.left && r.left < w.right && r.bottom > w.top && r.top < w.bottom; }).length""")
    assert visible >= 3, f"only {visible} node(s) visible on a phone"
    root = page.locator('g.node[data-node-id="n0"]').bounding_box()
    child = page.locator('g.node[data-node-id="n1"]').bounding_box()
    assert child["y"] > root["y"] + root["height"] / 2  # children below their parent
    assert page.evaluate(TEXT_INSIDE)
    assert page.js_errors == [], page.js_errors
