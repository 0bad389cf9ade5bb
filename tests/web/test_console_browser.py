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
from tests.web.browser import PHONE, tree_of, wait_live

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


LOCAL_FORMAT = """() => { const f = new Intl.DateTimeFormat(undefined, {month: "short", day: "numeric", hour: "numeric", minute: "2-digit"});
  const s = new Intl.DateTimeFormat(undefined, {month: "short", day: "numeric", hour: "numeric", minute: "2-digit", second: "2-digit"});
  return [...document.querySelectorAll('time[datetime]')].map(t => [t.textContent,
    (t.dataset.precision === 'seconds' ? s : f).format(new Date(t.getAttribute('datetime')))]); }"""


def test_charts_have_axes_ticks_a_legend_a_tooltip_and_the_band(open_page, world):
    agent = world["mine"][0]
    now = timezone.now()
    for hour in range(12):
        for minute, spread in ((5, -40), (20, 0), (40, 60)):
            factories.AgentMetricFactory(agent=agent, metric_type=MetricType.RESPONSE_TIME, unit=MetricUnit.MS,
                                         value=Decimal(250 + spread + hour * 3),
                                         recorded_at=now - timedelta(hours=hour, minutes=minute))
    page = open_page(world["owner"], f"/agents/{agent.pk}/")
    chart = page.locator("#charts svg.line-chart")
    expect(chart).to_have_count(1)
    assert page.locator(".line-chart .axis-x .tick").count() >= 3
    assert page.locator(".line-chart .axis-y .tick").count() >= 3
    expect(page.locator(".chart-legend li")).to_have_count(2)
    band = page.locator(".line-chart path.band").bounding_box()
    assert band and band["height"] > 20, band  # min–max band visible, not a hairline
    box = chart.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    tip = page.locator(".chart-tip")
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("avg")
    expect(tip).to_contain_text("samples")
    ticks = page.locator(".line-chart .axis-x .tick text").all_text_contents()
    formatted = page.evaluate("""() => new Intl.DateTimeFormat(undefined, {hour: "numeric", minute: "2-digit"})
      .formatToParts(new Date()).map(p => p.type)""")
    assert all(t.strip() for t in ticks) and formatted  # ticks in the page's locale (time.js)
    assert page.js_errors == [], page.js_errors


def test_one_time_format_across_a_live_patch(open_page, web_url, world):
    owner, agent = world["owner"], world["mine"][0]
    page = open_page(owner, "/")
    wait_live(page)
    pairs = page.evaluate(LOCAL_FORMAT)
    assert len(pairs) >= 3 and all(text == wanted for text, wanted in pairs), pairs
    response = httpx.patch(f"{web_url}/api/v1/agents/{agent.pk}/", json={"name": "Market watcher II"},
                           headers={"Authorization": f"Bearer {access_token_for(owner)}"}, timeout=10)
    assert response.status_code == 200, response.text
    row = page.locator(f'tr[data-agent-id="{agent.pk}"]')
    expect(row.locator(".agent-name")).to_have_text("Market watcher II")
    patched = row.locator("[data-field=updated_at] time")
    page.wait_for_function(f"""() => document.querySelector('tr[data-agent-id="{agent.pk}"] [data-field=updated_at] time')
      .getAttribute('datetime').startsWith('{response.json()["updated_at"][:16]}')""")
    pairs = page.evaluate(LOCAL_FORMAT)
    assert all(text == wanted for text, wanted in pairs), pairs  # the patched row reads like the others
    assert patched.get_attribute("datetime")
    assert page.js_errors == [], page.js_errors


def test_create_an_agent_blank_and_from_a_template(open_page, world):
    owner = world["owner"]
    template = factories.AgentTemplateFactory(name="Crypto watcher", type="market", is_public=True,
                                              default_config={"symbols": ["BTC"]})
    page = open_page(owner, "/")
    page.get_by_role("button", name="New agent").click()
    dialog = page.get_by_role("dialog", name="New agent")
    dialog.get_by_role("button", name="Create agent").click()  # no name: the API's 400 names it
    expect(page.locator("#new-agent-error")).to_contain_text("name")
    dialog.get_by_label("Name").fill("Alarm bell")
    dialog.get_by_label("Agent type").select_option("alarm")
    dialog.get_by_role("button", name="Create agent").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Alarm bell")
    assert owner.agents.filter(name="Alarm bell", type="alarm").exists()

    page.goto("/")
    page.get_by_role("button", name="New agent").click()
    dialog = page.get_by_role("dialog", name="New agent")
    dialog.get_by_label("Start from").select_option(str(template.pk))
    expect(dialog.get_by_label("Agent type")).to_be_disabled()
    dialog.get_by_label("Name").fill("My crypto watcher")
    dialog.get_by_role("button", name="Create agent").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("My crypto watcher")
    made = owner.agents.get(name="My crypto watcher")
    assert made.type == "market" and made.config == {"symbols": ["BTC"]}
    assert page.js_errors == [] or all("400" in e for e in page.js_errors), page.js_errors


def test_edit_config_confirm_a_deploy_and_stop_it_with_buttons_only_when_possible(open_page, world):
    owner = world["owner"]
    bare = factories.AgentFactory(created_by=owner, name="No workflow yet", status=AgentStatus.INACTIVE)
    page = open_page(owner, f"/agents/{bare.pk}/")
    expect(page.get_by_role("button", name=f"Deploy {bare.name}")).to_be_disabled()  # nothing to publish
    expect(page.get_by_role("button", name=f"Pause {bare.name}")).to_be_disabled()  # inactive: no pause
    expect(page.get_by_role("button", name=f"Activate {bare.name}")).to_be_enabled()
    dashboard = open_page(owner, "/")  # the same rules on the dashboard's row
    row = dashboard.locator(f"#agent-{bare.pk}")
    expect(row.get_by_role("button", name=f"Pause {bare.name}")).to_be_disabled()
    expect(row.get_by_role("button", name=f"Deploy {bare.name}")).to_be_disabled()

    agent = factories.AgentFactory(created_by=owner, name="Deployable", status=AgentStatus.INACTIVE)
    factories.WorkflowFactory(agent=agent)
    page = open_page(owner, f"/agents/{agent.pk}/")
    wait_live(page)
    # config: invalid JSON is refused in the form, a valid object saved through the API
    page.get_by_role("button", name="Edit").click()
    page.get_by_label("config (JSON object)", exact=True).fill("{not json")
    page.get_by_role("button", name="Save configuration").click()
    expect(page.locator("#config-error")).to_contain_text("config: not valid JSON")
    page.get_by_label("config (JSON object)", exact=True).fill('{"symbols": ["ACME", "INIT"], "interval": "1m"}')
    page.get_by_role("button", name="Save configuration").click()
    expect(page.locator("#config-shown")).to_contain_text('"INIT"')
    agent.refresh_from_db()
    assert agent.config == {"symbols": ["ACME", "INIT"], "interval": "1m"}
    # deploy asks first; cancelling deploys nothing
    page.get_by_role("button", name=f"Deploy {agent.name}").click()
    dialog = page.get_by_role("dialog", name=f"Deploy {agent.name}?")
    expect(dialog).to_contain_text("1 workflow")
    dialog.get_by_role("button", name="Cancel").click()
    assert not agent.deployments.exists()
    page.get_by_role("button", name=f"Deploy {agent.name}").click()
    dialog.get_by_role("button", name="Deploy v1").click()
    row = page.locator("#deployments-section tr[data-deployment-id]")
    expect(row).to_have_count(1)
    expect(row.locator(".status")).to_have_text("deployed", timeout=10_000)
    expect(page.locator("#agent-status")).to_have_text("active")
    expect(page.get_by_role("button", name=f"Pause {agent.name}")).to_be_enabled()
    # stop it from its row
    row.get_by_role("button", name="Stop v1").click()
    expect(row.locator(".status")).to_have_text("stopped", timeout=10_000)
    expect(row.get_by_role("button")).to_have_count(0)
    assert agent.deployments.get().status == "stopped"
    assert page.js_errors == [], page.js_errors


def test_screenshots_of_every_admin_changelist_and_the_agent_form(open_page, world):
    """artifacts/screenshots/admin-*.png at 1280×800 and 390×844 (`make screenshots` reruns
    these and the pages' test); the desktop lists and the agent form fit the window."""
    from django.contrib import admin
    from django.urls import reverse

    from tests.web.browser import DESKTOP, screenshot

    superuser = factories.UserFactory(is_staff=True, is_superuser=True, email="operator@example.com")
    agent = world["mine"][0]
    workflow = agent.workflows.first()
    execution = factories.WorkflowExecutionFactory(workflow=workflow)
    tree_of(execution, 4)
    factories.AgentMetricFactory(agent=agent, metric_type=MetricType.RESPONSE_TIME, unit=MetricUnit.MS, value=230)
    factories.NotificationFactory(user=world["owner"], type="deployment_success", title="Market watcher v1 is live",
                                  message="Deployment v1 of Market watcher succeeded.", data={"agent_id": str(agent.pk)})
    factories.AgentTemplateFactory(name="Crypto watcher", is_public=True)
    pages = {"admin-index": reverse("admin:index"),
             "admin-agent-change": reverse("admin:agents_agent_change", args=[agent.pk])}
    for model in admin.site._registry:
        meta = model._meta
        pages[f"admin-{meta.app_label}-{meta.model_name}"] = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    written, too_wide = 0, {}
    for size_name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        for name, path in pages.items():
            page = open_page(superuser, path, viewport=viewport)
            assert page.locator("#content").count() == 1, name
            if size_name == "desktop":
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= DESKTOP["width"], f"{name} is {width}px wide in a 1280px window"
                cut = page.evaluate("""() => { const t = document.getElementById('result_list');
                  return t ? t.scrollWidth - t.parentElement.clientWidth : 0; }""")
                too_wide.update({name: cut} if cut > 0 else {})
            screenshot(page, f"{name}-{size_name}")
            written += 1
            assert page.js_errors == [], (name, page.js_errors)
    assert written == 2 * len(pages) >= 2 * 14
    assert too_wide == {}, f"list columns cut off at 1280 px (px hidden): {too_wide}"
