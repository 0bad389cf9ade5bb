"""Idempotent demo data for `manage.py seed_demo` (run by `make run`).

Every row has a deterministic UUID (uuid5 of a natural key), users are matched by email and
teams by slug, so a second run finds everything and inserts nothing. Rows are created with
`bulk_create` after one existence check per table, which keeps a second run well under a
second. Agents are *created* with their demo status (creation is not a status change, so no
notification is due); later changes go through `agents.services.agent_set_status`.
"""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import models, transaction
from django.utils import timezone

from accounts.models import Role, Team, User, UserRole
from agents.models import Agent, AgentStatus, AgentTemplate, AgentType
from echelon.dates import iso_utc
from monitoring.models import AgentMetric, ApiUsage, MetricType, MetricUnit
from notifications.models import AgentThought, NodeType, Notification, NotificationType, Priority
from workflows.models import Deployment, DeploymentStatus, ExecutionStatus, TriggerType, Workflow, WorkflowExecution

NAMESPACE = uuid.UUID("6f1d7c3e-2b8a-5d4e-9c1f-0a3b5e7d9f21")
ADMIN_EMAIL = "admin@echelon.local"
PASSWORD_ENV = "ECHELON_ADMIN_PASSWORD"
PASSWORD_FILE = Path(settings.BASE_DIR) / ".data" / "admin-password"

# email, full name, is_staff, tier
DEMO_USERS = [
    ("alice@echelon.local", "Alice Anders", True, "enterprise"),
    ("bob@echelon.local", "Bob Brandt", False, "pro"),
    ("carol@echelon.local", "Carol Chen", False, "free"),
    ("dave@echelon.local", "Dave Diaz", False, "pro"),
    ("erin@echelon.local", "Erin Eriksen", False, "free"),
]
# slug, name, plan, creator, {email: role}
DEMO_TEAMS = [
    ("acme", "Acme Research", "pro", "alice@echelon.local",
     {"alice@echelon.local": Role.ADMIN, "bob@echelon.local": Role.AGENT_MANAGER,
      "carol@echelon.local": Role.VIEWER}),
    ("globex", "Globex Ops", "starter", "dave@echelon.local",
     {"dave@echelon.local": Role.ADMIN, "erin@echelon.local": Role.AGENT_MANAGER,
      "alice@echelon.local": Role.VIEWER}),
]
# A believable name per (type, status): the status is the agent's, not part of its name.
AGENT_TITLES = {
    AgentType.MARKET: ("Equities Watcher", "FX Tracker", "Crypto Pulse", "Commodity Radar"),
    AgentType.WEBSEARCH: ("Competitor Scout", "Patent Finder", "Job Market Scout", "Regulation Tracker"),
    AgentType.MEDIA: ("Press Digest", "Podcast Summarizer", "Social Listener", "Video Clipper"),
    AgentType.ALARM: ("Uptime Sentinel", "Fraud Alarm", "Latency Guard", "Budget Alarm"),
}
# A deployment history consistent with the agent's status: only an active agent has a live one;
# an inactive one may have one scheduled (pending, in the future); nothing is left deploying.
S = DeploymentStatus
DEPLOYMENT_HISTORY = {
    AgentStatus.ACTIVE: (S.STOPPED, S.FAILED, S.DEPLOYED),
    AgentStatus.PAUSED: (S.STOPPED, S.STOPPED),
    AgentStatus.ERROR: (S.STOPPED, S.FAILED),
    AgentStatus.INACTIVE: (S.FAILED, S.STOPPED, S.PENDING),
}
AGENT_NAMES = {
    AgentType.MARKET: "Market Watcher",
    AgentType.WEBSEARCH: "Web Scout",
    AgentType.MEDIA: "Media Digest",
    AgentType.ALARM: "Alarm Sentinel",
}


def demo_id(*parts) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts))


def admin_password() -> tuple[str, str]:
    """The demo admin's password and where it came from (env, else a file made once)."""
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env, f"${PASSWORD_ENV}"
    try:
        stored = PASSWORD_FILE.read_text().strip()
    except FileNotFoundError:
        stored = ""
    if not stored:
        stored = secrets.token_urlsafe(12)
        PASSWORD_FILE.parent.mkdir(parents=True, exist_ok=True)
        PASSWORD_FILE.write_text(stored + "\n")
        PASSWORD_FILE.chmod(0o600)
    return stored, str(PASSWORD_FILE)


@dataclass
class DemoResult:
    password: str
    password_source: str
    created: dict[str, int] = field(default_factory=dict)


def _insert_missing(model: type[models.Model], rows: list[models.Model], result: DemoResult) -> None:
    """Insert the rows whose primary key is not there yet (one SELECT, one bulk INSERT)."""
    existing = set(model.objects.filter(pk__in=[r.pk for r in rows]).values_list("pk", flat=True))
    missing = [r for r in rows if r.pk not in existing]
    if missing:
        model.objects.bulk_create(missing, batch_size=1000, ignore_conflicts=True)
    result.created[model._meta.db_table] = len(missing)


def _users(password: str, result: DemoResult) -> dict[str, uuid.UUID]:
    """Users by email → id. The admin's password is reset when it no longer matches."""
    emails = [ADMIN_EMAIL] + [u[0] for u in DEMO_USERS]
    found = {u.email: u for u in User.objects.filter(email__in=emails)}
    admin = found.get(ADMIN_EMAIL)
    if admin is None:
        User.objects.create_superuser(ADMIN_EMAIL, password, id=demo_id("user", ADMIN_EMAIL), full_name="Demo Admin")
        result.created["admin"] = 1
    else:
        updates = []
        if not admin.check_password(password):
            admin.set_password(password)
            updates.append("password")
        if not (admin.is_superuser and admin.is_staff and admin.is_active):
            admin.is_superuser = admin.is_staff = admin.is_active = True
            updates += ["is_superuser", "is_staff", "is_active"]
        if updates:
            admin.save(update_fields=updates)
    missing = [u for u in DEMO_USERS if u[0] not in found]
    if missing:
        hashed = make_password(password)  # hashed once: PBKDF2 is slow on purpose
        User.objects.bulk_create(
            [User(id=demo_id("user", email), email=email, full_name=name, is_staff=staff,
                  subscription_tier=tier, password=hashed) for email, name, staff, tier in missing],
            ignore_conflicts=True,
        )
    result.created["users"] = len(missing)
    return dict(User.objects.filter(email__in=emails).values_list("email", "id"))


def _teams(users: dict[str, uuid.UUID], result: DemoResult) -> dict[str, uuid.UUID]:
    slugs = [t[0] for t in DEMO_TEAMS]
    found = set(Team.objects.filter(slug__in=slugs).values_list("slug", flat=True))
    new = [Team(id=demo_id("team", slug), slug=slug, name=name, plan=plan, created_by_id=users[creator])
           for slug, name, plan, creator, _ in DEMO_TEAMS if slug not in found]
    if new:
        Team.objects.bulk_create(new, ignore_conflicts=True)
    result.created["teams"] = len(new)
    teams = dict(Team.objects.filter(slug__in=slugs).values_list("slug", "id"))
    existing_roles = set(UserRole.objects.filter(team_id__in=teams.values()).values_list("user_id", "team_id"))
    roles = [
        UserRole(id=demo_id("role", slug, email), user_id=users[email], team_id=teams[slug], role=role,
                 granted_by_id=users[creator])
        for slug, _, _, creator, members in DEMO_TEAMS
        for email, role in members.items()
        if (users[email], teams[slug]) not in existing_roles
    ]
    if roles:
        UserRole.objects.bulk_create(roles, ignore_conflicts=True)
    result.created["user_roles"] = len(roles)
    return teams


def _agent_specs(users, teams):
    """Every agent type in every status, spread over owners and teams (some without a team)."""
    owners = [("alice@echelon.local", "acme"), ("bob@echelon.local", "acme"), ("dave@echelon.local", "globex"),
              ("erin@echelon.local", "globex"), ("carol@echelon.local", None)]
    specs = []
    for i, (agent_type, status) in enumerate((t, s) for t in AgentType for s in AgentStatus):
        email, slug = owners[i % len(owners)]
        specs.append((agent_type, status, users[email], teams[slug] if slug else None))
    return specs


def _build(users, teams, now, link_n8n: bool = False) -> dict[type[models.Model], list[models.Model]]:
    rows: dict[type[models.Model], list[models.Model]] = {m: [] for m in (
        Agent, AgentTemplate, Deployment, Workflow, WorkflowExecution, AgentThought, AgentMetric, ApiUsage,
        Notification)}
    execution_states = list(ExecutionStatus)
    names: dict = {}
    for agent_type in AgentType:
        rows[AgentTemplate].append(AgentTemplate(
            id=demo_id("template", agent_type), name=f"{AGENT_NAMES[agent_type]} template", type=agent_type,
            default_config={"interval": "15m", "notify": True}, is_public=agent_type != AgentType.ALARM,
            created_by_id=users[ADMIN_EMAIL], created_at=now - timedelta(days=30)))
    for n, (agent_type, status, owner, team) in enumerate(_agent_specs(users, teams)):
        key = f"{agent_type}/{status}"
        agent_id = demo_id("agent", key)
        created = now - timedelta(days=20 - n)
        name = AGENT_TITLES[agent_type][list(AgentStatus).index(status)]
        names[agent_id] = name
        rows[Agent].append(Agent(
            id=agent_id, name=name, type=agent_type, status=status,
            description=f"{AgentType(agent_type).label} agent: {name.lower()} for its team's daily brief.",
            config={"interval": "5m", "sources": ["demo"], "thresholds": {"warn": 0.7, "alert": 0.9}},
            deployment_config={"n8n": {"project": "demo"}}, created_by_id=owner, team_id=team,
            created_at=created, updated_at=created, last_activity=now - timedelta(hours=n)))
        for version, state in enumerate(DEPLOYMENT_HISTORY[status], start=1):
            made = created + timedelta(days=version)
            scheduled = state == S.PENDING
            ran = state in (S.DEPLOYED, S.STOPPED)
            rows[Deployment].append(Deployment(
                id=demo_id("deployment", key, version), agent_id=agent_id, version=version, status=state,
                trigger_type=TriggerType.SCHEDULED if scheduled else TriggerType.MANUAL,
                trigger_config={"run_at": iso_utc(now + timedelta(days=2))} if scheduled else {},
                deployment_url=f"http://n8n.local/webhook/{agent_id}/{version}" if ran else None,
                error_message="n8n refused to publish: the webhook path is taken by another workflow"
                if state == S.FAILED else None,
                deployed_at=made + timedelta(minutes=1) if ran else None,
                stopped_at=made + timedelta(days=1) if state == S.STOPPED else None,
                created_at=made))
        workflow_id = demo_id("workflow", key)
        executions = [execution_states[(n + i) % len(execution_states)] for i in range(5)]
        rows[Workflow].append(Workflow(
            id=workflow_id, agent_id=agent_id, name=f"{AGENT_NAMES[agent_type]} flow {n + 1}",
            # Unlinked unless asked (issue 18): a real n8n knows none of these ids, and each sync
            # would fail the seeded `deploying` deployments and re-fetch their executions.
            n8n_workflow_id=f"demo{n:012d}" if link_n8n else None, status=status, trigger_config={"interval": "5m"},
            execution_count=len(executions), success_count=executions.count(ExecutionStatus.SUCCESS),
            error_count=executions.count(ExecutionStatus.ERROR), last_execution=now - timedelta(hours=5 + n),
            created_at=created, updated_at=created))
        for i, state in enumerate(executions):
            execution_pk = demo_id("execution", key, i)
            started = now - timedelta(hours=5 * (5 - i) + n)
            done = state in (ExecutionStatus.SUCCESS, ExecutionStatus.ERROR)
            rows[WorkflowExecution].append(WorkflowExecution(
                id=execution_pk, workflow_id=workflow_id, execution_id=str(10_000 + n * 10 + i), status=state,
                input_data=[{"query": f"demo run {i}"}],  # one shape: lists of items (docs/n8n.md)
                output_data=[{"summary": "All good", "items": 3}] if state == ExecutionStatus.SUCCESS else None,
                error_data={"message": "Upstream timeout", "node": "fetch"} if state == ExecutionStatus.ERROR else None,
                execution_time_ms=1200 + 37 * i if done else None, started_at=started,
                completed_at=started + timedelta(seconds=2) if done else None))
            # A small mind map: input → plan → (search, analyse) → output.
            tree = [("input", None, NodeType.INPUT, "Request received"),
                    ("plan", "input", NodeType.PROCESSING, "Planning the steps"),
                    ("search", "plan", NodeType.ACTION, "Searching sources"),
                    ("analyse", "plan", NodeType.PROCESSING, "Analysing results"),
                    ("output", "analyse", NodeType.OUTPUT, "Answer written")]
            for j, (node, parent, node_type, content) in enumerate(tree):
                rows[AgentThought].append(AgentThought(
                    id=demo_id("thought", key, i, node), agent_id=agent_id, execution_id=execution_pk,
                    node_id=node, parent_node_id=parent, node_type=node_type, content=content,
                    metadata={"step": j}, confidence_score=Decimal("0.50") + Decimal(j) / 10,
                    processing_time_ms=40 * (j + 1), created_at=started + timedelta(milliseconds=300 * j)))
        for metric_type, unit, base in ((MetricType.RESPONSE_TIME, MetricUnit.MS, 800),
                                        (MetricType.SUCCESS_RATE, MetricUnit.PERCENT, 90),
                                        (MetricType.COST, MetricUnit.USD, 1),
                                        (MetricType.TOKENS, MetricUnit.COUNT, 1500)):
            for hour in range(24):
                swing = Decimal((hour * 7 + n) % 10)
                # a rate stays a rate (88-97 %), the others vary by up to 18 % around their base
                value = Decimal(88) + swing if unit == MetricUnit.PERCENT else Decimal(base) * (1 + swing / 50)
                rows[AgentMetric].append(AgentMetric(
                    id=demo_id("metric", key, metric_type, hour), agent_id=agent_id, metric_type=metric_type,
                    unit=unit, value=value,
                    metadata={"source": "demo"}, recorded_at=now - timedelta(hours=24 - hour)))
        for call in range(6):
            rows[ApiUsage].append(ApiUsage(
                id=demo_id("usage", key, call), user_id=owner, agent_id=agent_id,
                endpoint=f"/api/v1/agents/{agent_id}/", method=("GET", "PATCH", "POST")[call % 3],
                status_code=(200, 200, 201, 429, 200, 500)[call], response_time_ms=20 + call * 3,
                cost_usd=Decimal("0.0020") * call, created_at=now - timedelta(minutes=30 * call + n)))
    rows[Notification] = _notifications(users, teams, rows[Agent], rows[Deployment], now)
    return rows


def _notifications(users, teams, agents, deployments, now) -> list[Notification]:
    """Six notifications per user, of the platform's real types with the services' wording and
    data (agent_id, so each links to its agent), about that user's own agents."""
    by_owner: dict = {}
    for agent in agents:
        by_owner.setdefault(agent.created_by_id, []).append(agent)
    failed = {d.agent_id: d for d in deployments if d.status == DeploymentStatus.FAILED}
    live = {d.agent_id: d for d in deployments if d.status == DeploymentStatus.DEPLOYED}
    team_names = {slug: name for slug, name, *_ in DEMO_TEAMS}
    out = []
    for u, email in enumerate([ADMIN_EMAIL] + [d[0] for d in DEMO_USERS]):
        user_id = users[email]
        own = by_owner.get(user_id, [])
        notes = []
        for agent in own:
            a = {"agent_id": str(agent.id), "agent_name": agent.name}
            if agent.id in live:
                d = live[agent.id]
                notes.append((NotificationType.DEPLOYMENT_SUCCESS, Priority.MEDIUM, "Deployment Succeeded",
                              f'Agent "{agent.name}" version {d.version} is deployed',
                              {**a, "deployment_id": str(d.id), "version": d.version, "status": d.status}))
            if agent.id in failed:
                d = failed[agent.id]
                notes.append((NotificationType.DEPLOYMENT_FAILED, Priority.HIGH, "Deployment Failed",
                              f'Agent "{agent.name}" version {d.version} failed to deploy: {d.error_message}',
                              {**a, "deployment_id": str(d.id), "version": d.version, "status": d.status}))
            if agent.status == AgentStatus.ERROR:
                notes.append((NotificationType.AGENT_ERROR, Priority.CRITICAL, "Agent Execution Failed",
                              f'Agent "{agent.name}" failed: Upstream timeout in node "fetch"', a))
            if agent.status == AgentStatus.PAUSED:
                notes.append((NotificationType.AGENT_STATUS_CHANGE, Priority.LOW, "Agent Status Changed",
                              f'Agent "{agent.name}" changed from active to paused',
                              {**a, "old_status": "active", "new_status": "paused"}))
        for slug, _name, _plan, _creator, members in DEMO_TEAMS:
            if email in members:
                notes.append((NotificationType.TEAM_MEMBERSHIP, Priority.LOW, "Team membership",
                              f"You are {members[email].replace('_', ' ')} of {team_names[slug]}",
                              {"team_id": str(teams[slug]), "role": members[email]}))
        notes.append((NotificationType.RATE_LIMIT_WARNING, Priority.HIGH, "API rate limit 80% used",
                      "You have used 80% of your quota of 600 requests per 60 s.",
                      {"threshold_percent": 80, "limit": 600, "window_seconds": 60}))
        notes.append((NotificationType.SYSTEM, Priority.MEDIUM, "Scheduled maintenance",
                      "The API restarts on Sunday at 02:00 UTC; live pages reconnect by themselves.", {}))
        for k, (kind, priority, title, message, data) in enumerate(notes[:6]):
            out.append(Notification(
                id=demo_id("notification", email, k), user_id=user_id, type=kind, title=title, message=message,
                data=data, priority=priority, read_at=now - timedelta(hours=1) if (k + u) % 2 else None,
                created_at=now - timedelta(hours=k * 3 + u)))
    return out


def seed_demo(*, link_n8n: bool = False) -> DemoResult:
    """Create (or find) the demo data; return the admin password and what was created.

    `link_n8n`: link the demo workflows to made-up n8n ids (`demo000000000000`…), for a demo
    without n8n; never against a real one."""
    password, source = admin_password()
    result = DemoResult(password=password, password_source=source)
    with transaction.atomic():
        users = _users(password, result)
        teams = _teams(users, result)
        rows = _build(users, teams, timezone.now(), link_n8n=link_n8n)
        for model, objects in rows.items():
            _insert_missing(model, objects, result)
    return result
