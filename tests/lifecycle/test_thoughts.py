"""Thought batches (links, cycles, all-or-nothing) and the mind map (a tree in one query)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.models import AgentThought
from workflows.services.thoughts import ThoughtBatchError, execution_mind_map, thoughts_ingest
from tests.factories import AgentThoughtFactory, UserRoleFactory, WorkflowExecutionFactory

pytestmark = pytest.mark.django_db


def node(node_id, parent=None, node_type="processing", **extra):
    return {"node_id": node_id, "node_type": node_type, "content": f"thinking {node_id}",
            "parent_node_id": parent, **extra}


@pytest.fixture
def execution():
    return WorkflowExecutionFactory()


def test_batch_with_links_inside_the_batch_and_to_stored_nodes(execution):
    thoughts_ingest(execution=execution, thoughts=[node("root", node_type="input")])
    rows = thoughts_ingest(execution=execution, thoughts=[node("b", "a"), node("a", "root")])
    assert {row.node_id for row in rows} == {"a", "b"}
    stored = dict(AgentThought.objects.filter(execution=execution).values_list("node_id", "parent_node_id"))
    assert stored == {"root": None, "a": "root", "b": "a"}
    assert set(AgentThought.objects.values_list("agent_id", flat=True)) == {execution.workflow.agent_id}


def test_missing_parent_names_the_node_and_writes_nothing(execution):
    with pytest.raises(ThoughtBatchError) as caught:
        thoughts_ingest(execution=execution, thoughts=[node("a"), node("b", "ghost")])
    assert caught.value.node_id == "b" and caught.value.field == "thoughts[1].parent_node_id"
    assert "'ghost' does not exist in this execution" in caught.value.message
    assert not AgentThought.objects.exists()


def test_a_parent_in_another_execution_does_not_count(execution):
    AgentThoughtFactory(node_id="elsewhere")
    with pytest.raises(ThoughtBatchError, match="'elsewhere' does not exist"):
        thoughts_ingest(execution=execution, thoughts=[node("a", "elsewhere")])


@pytest.mark.parametrize("batch,culprit", [
    ([node("a", "a")], "a"),
    ([node("a", "b"), node("b", "a")], "a"),
    ([node("x"), node("a", "c"), node("b", "a"), node("c", "b")], "a"),
])
def test_cycles_are_refused(execution, batch, culprit):
    with pytest.raises(ThoughtBatchError, match="form a cycle") as caught:
        thoughts_ingest(execution=execution, thoughts=batch)
    assert caught.value.node_id == culprit
    assert not AgentThought.objects.exists()


def test_a_cycle_through_stored_nodes_is_refused(execution):
    thoughts_ingest(execution=execution, thoughts=[node("a"), node("b", "a")])
    with pytest.raises(ThoughtBatchError, match="cycle"):
        thoughts_ingest(execution=execution, thoughts=[node("a", "b")])  # re-parent a under its child
    assert AgentThought.objects.get(node_id="a").parent_node_id is None


@pytest.mark.parametrize("item,field", [
    ({"node_type": "input", "content": "x"}, "thoughts[0].node_id"),
    ({"node_id": "a", "node_type": "dream", "content": "x"}, "thoughts[0].node_type"),
    ({"node_id": "a", "node_type": "input", "content": ""}, "thoughts[0].content"),
    ({"node_id": "a", "node_type": "input", "content": "x", "confidence_score": 1.5}, "thoughts[0].confidence_score"),
    ({"node_id": "a", "node_type": "input", "content": "x", "confidence_score": True},
     "thoughts[0].confidence_score"),
    ({"node_id": "a", "node_type": "input", "content": "x", "processing_time_ms": "5"},
     "thoughts[0].processing_time_ms"),
    ({"node_id": "a", "node_type": "input", "content": "x", "metadata": []}, "thoughts[0].metadata"),
    ("not an object", "thoughts[0]"),
])
def test_field_errors(execution, item, field):
    with pytest.raises(ThoughtBatchError) as caught:
        thoughts_ingest(execution=execution, thoughts=[item])
    assert caught.value.field == field


def test_duplicate_node_in_a_batch(execution):
    with pytest.raises(ThoughtBatchError, match="appears twice"):
        thoughts_ingest(execution=execution, thoughts=[node("a"), node("a")])


def test_mind_map_is_a_tree_built_from_one_query(execution):
    thoughts_ingest(execution=execution, thoughts=[
        node("q", node_type="input", confidence_score=1),
        node("plan", "q", confidence_score=0.75, processing_time_ms=40),
        node("search", "plan", node_type="action"),
        node("answer", "plan", node_type="output"),
    ])
    with CaptureQueriesContext(connection) as queries:
        tree = execution_mind_map(execution_id=execution.pk)
    assert len(queries) == 1
    [root] = tree
    assert (root["node_id"], root["type"], root["confidence"]) == ("q", "input", 1.0)
    [plan] = root["children"]
    assert (plan["confidence"], plan["processing_time_ms"], plan["content"]) == (0.75, 40, "thinking plan")
    assert sorted(child["node_id"] for child in plan["children"]) == ["answer", "search"]
    assert {child["type"] for child in plan["children"]} == {"action", "output"}


def test_orphans_from_outside_the_service_are_roots(execution):
    AgentThoughtFactory(execution=execution, node_id="lost", parent_node_id="never-stored")
    assert [n["node_id"] for n in execution_mind_map(execution_id=execution.pk)] == ["lost"]


# --- HTTP ---------------------------------------------------------------------------------------
def test_thoughts_endpoint(client_for, execution):
    owner = execution.workflow.agent.created_by
    url = f"/api/v1/workflow-executions/{execution.pk}/thoughts/"
    response = client_for(owner).post(url, {"thoughts": [node("a"), node("b", "a")]}, format="json")
    assert response.status_code == 201 and response.json()["ingested"] == 2
    bad = client_for(owner).post(url, [node("c", "nope")], format="json")
    assert bad.status_code == 400
    assert "thoughts[0].parent_node_id" in bad.json()["error"]["fields"] and bad.json()["error"]["node_id"] == "c"
    assert "'c'" in bad.json()["error"]["message"]
    cyclic = client_for(owner).post(url, [node("a", "b")], format="json")
    assert cyclic.status_code == 400 and "cycle" in cyclic.json()["error"]["message"]


def test_thoughts_endpoint_access(client_for, execution):
    agent = execution.workflow.agent
    agent.team = UserRoleFactory().team
    agent.save()
    viewer = UserRoleFactory(team=agent.team, role="viewer").user
    url = f"/api/v1/workflow-executions/{execution.pk}/thoughts/"
    assert client_for(WorkflowExecutionFactory().workflow.agent.created_by).post(
        url, [node("a")], format="json").status_code == 404
    assert client_for(viewer).post(url, [node("a")], format="json").status_code == 403
    assert client_for(viewer).get(f"/api/v1/workflow-executions/{execution.pk}/mind-map/").status_code == 200
    assert not AgentThought.objects.exists()


def test_mind_map_endpoint(client_for, execution, django_assert_num_queries):
    thoughts_ingest(execution=execution, thoughts=[node("a", node_type="input"), node("b", "a")])
    client = client_for(execution.workflow.agent.created_by)
    with django_assert_num_queries(2):  # the policy lookup, then the thoughts
        response = client.get(f"/api/v1/workflow-executions/{execution.pk}/mind-map/")
    assert response.status_code == 200
    [root] = response.json()["nodes"]
    assert root["node_id"] == "a" and root["children"][0]["node_id"] == "b"
    other = client_for(WorkflowExecutionFactory().workflow.agent.created_by)
    assert other.get(f"/api/v1/workflow-executions/{execution.pk}/mind-map/").status_code == 404
