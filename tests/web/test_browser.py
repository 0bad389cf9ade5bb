"""The web pages in headless Chromium against a live daphne: sign in, the dashboard's rows,
live updates over the realtime socket, rights, the mind map, and screenshots of every page
at 1280×800 and phone width (tests/web/browser.py says where)."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import UserRole
from agents.models import AgentStatus
from agents.services import agent_set_status
from echelon.auth.tokens import access_token_for
from monitoring.models import MetricType, MetricUnit
from notifications.models import Priority
from tests import factories
from tests.web.browser import DESKTOP, PHONE, screenshot, tree_of, wait_live

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def rows_on(page) -> set[str]:
    return set(page.locator("#agent-rows tr.agent-row").evaluate_all("rows => rows.map(r => r.dataset.agentId)"))


def test_sign_in_then_the_dashboard_lists_exactly_the_readable_agents(open_page, world):
    owner = world["owner"]
    owner.password = PBKDF2PasswordHasher().encode("s3cret-Passw0rd!", PBKDF2PasswordHasher().salt())  # daphne's hasher
    owner.save(update_fields=["password"])

    page = open_page(None, "/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct email")
    page.get_by_label("Password").fill("s3cret-Passw0rd!")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Agents")).to_be_visible()
    expected = {str(a.pk) for a in world["mine"]} | {str(world["team_agent"].pk)}
    assert rows_on(page) == expected
    assert str(world["hidden"].pk) not in page.content()
    wait_live(page)

    # Filters narrow the rows in place.
    page.get_by_label("Type", exact=True).select_option("alarm")
    expect(page.locator("#agent-rows tr.agent-row:visible")).to_have_count(1)
    assert "type=alarm" in page.url
    page.get_by_label("Type", exact=True).select_option("")
    expect(page.locator("#agent-rows tr.agent-row:visible")).to_have_count(3)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    assert page.js_errors == []


def test_a_pause_through_the_api_updates_the_open_dashboard_live(open_page, web_url, world):
    owner, admin = world["owner"], world["admin"]
    agent = world["mine"][1]  # in the team: the team admin may pause it; the owner is notified
    agent_set_status(agent=agent, status=AgentStatus.ACTIVE, actor=owner)
    page = open_page(owner, "/")
    wait_live(page)
    page.evaluate("window.__sameDocument = true")
    row = page.locator(f"#agent-{agent.pk}")
    expect(row).to_have_attribute("data-status", "active")
    before = int(page.locator("#unread-count").get_attribute("data-count"))

    response = httpx.post(f"{web_url}/api/v1/agents/{agent.pk}/pause/",
                          headers={"Authorization": f"Bearer {access_token_for(admin)}"}, timeout=10)
    assert response.status_code == 200, response.text
    sent = time.monotonic()

    expect(row).to_have_attribute("data-status", "paused", timeout=2_000)
    expect(row.locator("[data-field=status]")).to_have_text("paused")
    elapsed = time.monotonic() - sent
    toast = page.locator("#toasts .toast").filter(has_text=agent.name)
    expect(toast).to_be_visible(timeout=2_000)
    expect(page.locator("#unread-count")).to_have_attribute("data-count", str(before + 1), timeout=2_000)
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    assert elapsed < 2.0
    assert page.js_errors == []


def test_a_viewer_sees_no_action_buttons_and_404_for_another_users_agent(open_page, world):
    owner = world["owner"]
    page = open_page(owner, "/")
    team_row = page.locator(f"#agent-{world['team_agent'].pk}")
    expect(team_row).to_be_visible()
    expect(team_row.locator("button")).to_have_count(0)  # a viewer of the team: read only
    expect(team_row).to_contain_text("view only")
    mine = page.locator(f"#agent-{world['mine'][0].pk}")
    expect(mine.locator("button[data-action]")).to_have_count(2)  # activate, pause
    expect(mine.get_by_role("link", name=f"Deploy {world['mine'][0].name}")).to_have_count(1)  # asks on its page
    expect(team_row.get_by_role("link", name=re.compile("^Deploy"))).to_have_count(0)

    detail = page.goto(f"/agents/{world['team_agent'].pk}/")
    assert detail.status == 200
    expect(page.locator("#agent button[data-action]")).to_have_count(0)

    response = page.goto(f"/agents/{world['hidden'].pk}/")
    assert response.status == 404
    assert "Outsider secret" not in page.content()


def test_the_mind_map_draws_50_nodes_and_49_edges_and_adds_a_posted_thought(open_page, web_url, world):
    owner = world["owner"]
    workflow = factories.WorkflowFactory(agent=world["mine"][0])
    execution = factories.WorkflowExecutionFactory(workflow=workflow)
    tree_of(execution, 50)

    page = open_page(owner, f"/executions/{execution.pk}/mind-map/")
    expect(page.locator("svg.mindmap g.node")).to_have_count(50)
    expect(page.locator("svg.mindmap path.edge")).to_have_count(49)
    wait_live(page)

    response = httpx.post(
        f"{web_url}/api/v1/workflow-executions/{execution.pk}/thoughts/",
        json=[{"node_id": "late", "node_type": "output", "content": "A late conclusion", "parent_node_id": "n7",
               "confidence_score": 0.9, "processing_time_ms": 42}],
        headers={"Authorization": f"Bearer {access_token_for(owner)}"}, timeout=10,
    )
    assert response.status_code == 201, response.text
    expect(page.locator("svg.mindmap g.node")).to_have_count(51, timeout=2_000)
    expect(page.locator("svg.mindmap path.edge")).to_have_count(50)
    expect(page.locator('svg.mindmap path.edge[data-from="n7"][data-to="late"]')).to_have_count(1)
    node = page.locator('svg.mindmap g.node[data-node-id="late"]')
    expect(node).to_have_class("node node-output fresh")
    node.click()
    expect(page.locator("#node-detail-body")).to_contain_text("A late conclusion")
    expect(page.locator("#node-detail-body")).to_contain_text("42 ms")
    assert page.js_errors == []


def test_screenshots_of_every_page(open_page, web_url, world):
    owner, agent = world["owner"], world["mine"][0]
    now = timezone.now()
    for v in (2, 3):
        factories.DeploymentFactory(agent=agent, version=v, status="stopped" if v == 2 else "failed",
                                    error_message=None if v == 2 else "n8n: the webhook path is taken")
    workflow = agent.workflows.first()
    executions = [factories.WorkflowExecutionFactory(workflow=workflow, status=s, started_at=now - timedelta(minutes=i))
                  for i, s in enumerate(["success", "error", "running"])]
    tree_of(executions[0], 12)
    for hour in range(24):
        at = now - timedelta(hours=hour, minutes=5)
        factories.AgentMetricFactory(agent=agent, metric_type=MetricType.RESPONSE_TIME, unit=MetricUnit.MS,
                                     value=Decimal(200 + (hour * 37) % 90), recorded_at=at)
        factories.AgentMetricFactory(agent=agent, metric_type=MetricType.COST, unit=MetricUnit.USD,
                                     value=Decimal("0.01") * (1 + hour % 5), recorded_at=at)
    for i, priority in enumerate([Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.CRITICAL]):
        factories.NotificationFactory(user=owner, priority=priority, title=f"{priority.label} priority notice",
                                      message=f"Something of {priority} importance happened", type="system",
                                      read_at=now if i == 0 else None)

    pages = {
        "dashboard": "/",
        "notifications": "/notifications/",
        "agent": f"/agents/{agent.pk}/",
        "mind-map": f"/executions/{executions[0].pk}/mind-map/",
    }
    written = []
    for size_name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        login = open_page(None, "/login/", viewport=viewport)
        written.append(screenshot(login, f"login-{size_name}"))
        for name, path in pages.items():
            page = open_page(owner, path, viewport=viewport)
            wait_live(page)
            if name == "agent":
                expect(page.locator("#charts svg.line-chart")).to_have_count(2)
                if size_name == "desktop":  # another range comes from the aggregate endpoint
                    with page.expect_response(lambda r: "/agent-metrics/aggregate/" in r.url and r.ok):
                        page.get_by_label("Range").select_option("7d")
                    expect(page.locator("#charts")).to_have_attribute("aria-busy", "false")
                    expect(page.locator("#charts svg.line-chart")).to_have_count(2)
            if name == "mind-map":
                expect(page.locator("svg.mindmap g.node")).to_have_count(12)
            # Nothing wider than the screen except the scrollable table / map containers.
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name} at {size_name} is {overflow}px wider than the screen"
            written.append(screenshot(page, f"{name}-{size_name}"))
            assert page.js_errors == [], f"{name}: {page.js_errors}"
    assert len(written) == 10


def test_the_page_shows_reconnecting_and_catches_up_when_the_server_returns(open_page, web_server, world):
    owner, agent = world["owner"], world["mine"][0]
    page = open_page(owner, "/")
    wait_live(page)
    page.evaluate("window.__sameDocument = true")

    web_server.stop()
    expect(page.locator("#live-state")).to_have_attribute("data-state", "reconnecting", timeout=5_000)
    expect(page.locator("#live-state")).to_contain_text("Reconnecting")
    assert page.evaluate("document.body.dataset.live") == "reconnecting"  # the banner's switch
    screenshot(page, "dashboard-reconnecting-desktop")
    # A change nobody can push while the server is down: the page must fetch it on reconnect.
    agent_set_status(agent=agent, status=AgentStatus.PAUSED, actor=owner)

    web_server.start()
    wait_live(page)
    expect(page.locator(f"#agent-{agent.pk}")).to_have_attribute("data-status", "paused", timeout=5_000)
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"


def test_notifications_mark_read_mark_all_read_and_arrive_live(open_page, world):
    owner = world["owner"]
    first = factories.NotificationFactory(user=owner, title="Disk almost full", priority=Priority.HIGH)
    factories.NotificationFactory(user=owner, title="Weekly report ready", priority=Priority.LOW)
    page = open_page(owner, "/notifications/")
    wait_live(page)
    count = page.locator("#unread-count")
    expect(count).to_have_attribute("data-count", "2")
    expect(page.locator(f'li[data-id="{first.pk}"]')).to_have_class(re.compile(r"\bpriority-high\b.*\bunread\b"))

    page.get_by_role("button", name="Mark “Disk almost full” read").click()
    expect(count).to_have_attribute("data-count", "1")
    expect(page.locator(f'li[data-id="{first.pk}"]')).not_to_have_class(re.compile(r"\bunread\b"))
    first.refresh_from_db()
    assert first.read_at is not None

    # Created by another process (this test): pushed through Redis to daphne, then to the page.
    from notifications.services import notification_create

    notification_create(user_id=owner.pk, type="system", title="Maintenance tonight", message="22:00 UTC",
                        priority=Priority.CRITICAL)
    expect(page.locator("#notification-list li").first).to_contain_text("Maintenance tonight", timeout=2_000)
    expect(page.locator("#toasts .toast").filter(has_text="Maintenance tonight")).to_be_visible()
    expect(count).to_have_attribute("data-count", "2")

    page.get_by_role("button", name="Mark all notifications read").click()
    expect(count).to_have_attribute("data-count", "0")
    expect(page.locator("#notification-list li.unread")).to_have_count(0)
    assert owner.notifications.filter(read_at__isnull=True).count() == 0
    assert page.js_errors == []


def test_buttons_act_through_the_api_and_the_agent_page_follows_changes_live(open_page, web_url, world):
    owner, admin, agent = world["owner"], world["admin"], world["mine"][1]
    page = open_page(owner, "/")
    wait_live(page)
    row = page.locator(f"#agent-{agent.pk}")
    row.get_by_role("button", name=f"Activate {agent.name}").click()  # session + CSRF through the REST API
    expect(row).to_have_attribute("data-status", "active")
    expect(row.get_by_role("button", name=f"Activate {agent.name}")).to_be_disabled()
    # Deploy needs a workflow, and asks first on the agent's page (issue 19)
    expect(row.get_by_role("button", name=f"Deploy {agent.name}")).to_be_disabled()
    factories.WorkflowFactory(agent=agent)
    page.reload()
    wait_live(page)
    row.get_by_role("link", name=f"Deploy {agent.name}").click()
    page.get_by_role("dialog").get_by_role("button", name="Deploy v1").click()
    expect(page.locator("#deployments-section tr[data-deployment-id] .status")).to_have_text("deployed")
    page.goto("/")
    expect(row.locator("td[data-label=Deployment] .status")).to_have_text("deployed")
    agent.refresh_from_db()
    assert agent.status == AgentStatus.ACTIVE and agent.deployments.get().status == "deployed"

    detail = open_page(owner, f"/agents/{agent.pk}/")
    wait_live(detail)
    expect(detail.locator("#deployments-section tbody tr")).to_have_count(1)
    response = httpx.post(f"{web_url}/api/v1/agents/{agent.pk}/deploy/", json={},
                          headers={"Authorization": f"Bearer {access_token_for(admin)}"}, timeout=10)
    assert response.status_code == 202, response.text
    expect(detail.locator("#deployments-section tbody tr")).to_have_count(2, timeout=2_000)
    expect(detail.locator("#deployments-section tbody tr").first).to_contain_text("v2")
    httpx.post(f"{web_url}/api/v1/agents/{agent.pk}/pause/",
               headers={"Authorization": f"Bearer {access_token_for(admin)}"}, timeout=10).raise_for_status()
    expect(detail.locator("#agent-status")).to_have_text("paused", timeout=2_000)
    expect(detail.get_by_role("button", name=f"Pause {agent.name}")).to_be_disabled()
    assert page.js_errors == [] and detail.js_errors == []


def test_the_page_renews_its_token_and_keeps_receiving_changes(open_page, web_server, web_url, world):
    owner, agent = world["owner"], world["mine"][0]
    web_server.stop()
    web_server.env["JWT_ACCESS_MINUTES"] = "1"  # the page renews a minute before expiry: at once
    web_server.start()
    page = open_page(owner, None)
    sent, received = [], []
    page.on("websocket", lambda ws: (ws.on("framesent", lambda f: sent.append(json.loads(f))),
                                     ws.on("framereceived", lambda f: received.append(json.loads(f)))))
    page.goto("/")
    wait_live(page)
    with page.expect_response(lambda r: r.url.endswith("/web/realtime-token/") and r.status == 200, timeout=15_000):
        pass
    deadline = time.monotonic() + 5
    while not any(frame[3] == "access_token" for frame in sent) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    renewals = [frame for frame in sent if frame[3] == "access_token"]
    assert renewals, "the renewed token was not handed to the channels"
    assert renewals[0][4]["access_token"] != page.evaluate("JSON.parse(document.getElementById('live-config').textContent).token")
    page.wait_for_timeout(500)
    refused = [frame for frame in received if frame[3] in ("phx_close", "phx_error")
               or (frame[3] == "system" and frame[4].get("status") == "error")]
    assert refused == [], refused
    assert page.locator("#live-state").get_attribute("data-state") == "live"

    httpx.post(f"{web_url}/api/v1/agents/{agent.pk}/pause/",
               headers={"Authorization": f"Bearer {access_token_for(owner)}"}, timeout=10).raise_for_status()
    expect(page.locator(f"#agent-{agent.pk}")).to_have_attribute("data-status", "paused", timeout=2_000)
    assert page.js_errors == []


def test_losing_a_team_role_removes_the_teams_agents_from_the_open_dashboard(open_page, web_url, world):
    owner, admin, team_agent = world["owner"], world["admin"], world["team_agent"]
    page = open_page(owner, "/")
    wait_live(page)
    expect(page.locator(f"#agent-{team_agent.pk}")).to_be_visible()
    role = UserRole.objects.get(user=owner, team=world["team"])
    response = httpx.delete(f"{web_url}/api/v1/team-roles/{role.pk}/",
                            headers={"Authorization": f"Bearer {access_token_for(admin)}"}, timeout=10)
    assert response.status_code == 204, response.text
    expect(page.locator(f"#agent-{team_agent.pk}")).to_have_count(0, timeout=2_000)
    # The owner's own agent in that team stays (they own it).
    expect(page.locator(f"#agent-{world['mine'][1].pk}")).to_be_visible()
    assert page.js_errors == []


def test_the_agent_page_shows_who_else_is_viewing_and_drops_who_left(open_page, world):
    agent, owner, admin = world["team_agent"], world["owner"], world["admin"]  # owner: a viewer of the team
    outsider = world["outsider"]
    for user, name in ((owner, "Olivia Owner"), (admin, "Ada Admin"), (outsider, "Otto Outsider")):
        user.full_name = name
        user.save(update_fields=["full_name"])
    admin_page = open_page(admin, f"/agents/{agent.pk}/")
    wait_live(admin_page)
    expect(admin_page.locator("#viewers")).to_be_hidden()  # alone on the page
    owner_page = open_page(owner, f"/agents/{agent.pk}/")
    wait_live(owner_page)
    expect(owner_page.locator("#viewers")).to_have_text("Also viewing: Ada Admin")
    expect(admin_page.locator("#viewers")).to_have_text("Also viewing: Olivia Owner")
    # an outsider cannot open the page (404) nor join agent:<id> (the topic policy): never listed
    outsider_page = open_page(outsider, "/")
    wait_live(outsider_page)
    assert outsider_page.goto(f"/agents/{agent.pk}/").status == 404
    owner_page.close()
    expect(admin_page.locator("#viewers")).to_be_hidden()
    assert admin_page.js_errors == []


def test_the_mind_map_shows_viewers_and_relays_a_writers_selected_node(open_page, world):
    agent, owner, admin = world["team_agent"], world["owner"], world["admin"]  # admin writes, owner reads
    for user, name in ((owner, "Olivia Owner"), (admin, "Ada Admin")):
        user.full_name = name
        user.save(update_fields=["full_name"])
    execution = factories.WorkflowExecutionFactory(workflow=factories.WorkflowFactory(agent=agent))
    tree_of(execution, 5)
    path = f"/executions/{execution.pk}/mind-map/"
    admin_page, owner_page = open_page(admin, path), open_page(owner, path)
    for page in (admin_page, owner_page):
        wait_live(page)
    expect(owner_page.locator("#viewers")).to_have_text("Also viewing: Ada Admin")
    expect(admin_page.locator("#viewers")).to_have_text("Also viewing: Olivia Owner")
    admin_page.locator('svg.mindmap g.node[data-node-id="n3"]').click()
    expect(owner_page.locator('svg.mindmap g.node[data-node-id="n3"]')).to_have_class(re.compile(r"\bremote-selected\b"))
    expect(admin_page.locator("svg.mindmap g.node.remote-selected")).to_have_count(0)  # not its own
    assert admin_page.js_errors == [] and owner_page.js_errors == []
