"""factory-boy factories for every model; related rows are consistent (an execution's
workflow, a thought's execution and agent belong together)."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import Role, Team, User, UserRole
from agents.models import Agent, AgentStatus, AgentTemplate, AgentType
from monitoring.models import AgentMetric, ApiUsage, MetricType, MetricUnit
from notifications.models import AgentThought, NodeType, Notification, NotificationType, Priority
from workflows.models import Deployment, DeploymentStatus, ExecutionStatus, Workflow, WorkflowExecution

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.django.Password(PASSWORD)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")
    created_by = factory.SubFactory(UserFactory)


class UserRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserRole

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    role = Role.VIEWER
    granted_by = factory.SelfAttribute("team.created_by")


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    name = factory.Sequence(lambda n: f"Agent {n}")
    description = "An agent made by a factory"
    type = AgentType.MARKET
    status = AgentStatus.INACTIVE
    config = factory.LazyFunction(lambda: {"symbols": ["ACME"], "interval": "5m"})
    created_by = factory.SubFactory(UserFactory)
    team = None


class AgentTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentTemplate

    name = factory.Sequence(lambda n: f"Template {n}")
    type = AgentType.WEBSEARCH
    default_config = factory.LazyFunction(lambda: {"engine": "default", "limits": {"results": 10}})
    is_public = False
    created_by = factory.SubFactory(UserFactory)


class DeploymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deployment

    agent = factory.SubFactory(AgentFactory)
    version = factory.Sequence(lambda n: n + 1)
    status = DeploymentStatus.PENDING
    trigger_type = "manual"


class WorkflowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workflow

    agent = factory.SubFactory(AgentFactory)
    name = factory.Sequence(lambda n: f"Workflow {n}")
    n8n_workflow_id = factory.Sequence(lambda n: f"wf{n:012d}")


class WorkflowExecutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkflowExecution

    workflow = factory.SubFactory(WorkflowFactory)
    execution_id = factory.Sequence(lambda n: str(1000 + n))
    status = ExecutionStatus.SUCCESS
    input_data = factory.LazyFunction(dict)
    output_data = factory.LazyFunction(lambda: {"ok": True})
    execution_time_ms = 120
    started_at = factory.LazyFunction(timezone.now)


class AgentThoughtFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentThought

    execution = factory.SubFactory(WorkflowExecutionFactory)
    agent = factory.LazyAttribute(lambda o: o.execution.workflow.agent)
    node_id = factory.Sequence(lambda n: f"node-{n}")
    node_type = NodeType.PROCESSING
    content = "Considering the next step"
    confidence_score = Decimal("0.80")
    processing_time_ms = 15


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    user = factory.SubFactory(UserFactory)
    type = NotificationType.SYSTEM
    title = "Hello"
    message = "Something happened"
    priority = Priority.MEDIUM


class AgentMetricFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentMetric

    agent = factory.SubFactory(AgentFactory)
    metric_type = MetricType.RESPONSE_TIME
    value = Decimal("123.4500")
    unit = MetricUnit.MS
    recorded_at = factory.LazyFunction(timezone.now)


class ApiUsageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiUsage

    user = factory.SubFactory(UserFactory)
    endpoint = "/api/v1/agents/"
    method = "GET"
    status_code = 200
    response_time_ms = 12
    cost_usd = Decimal("0.0000")
