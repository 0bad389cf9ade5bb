"""Agent thoughts: batch ingestion (service) and the execution's mind map (selector).

A batch is validated as a whole before anything is written: every `parent_node_id` must name a
node of the same execution (already stored or in the batch) and the links must not form a
cycle; otherwise `ThoughtBatchError` names the offending node and nothing is written. Ingestion
is an upsert on (execution, node_id), so a replayed batch changes nothing.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction

from echelon.jsonvalues import top_field, unstorable_message, unstorable_path
from echelon.errors import DomainError
from echelon.redaction import redact_headers
from notifications.models import AgentThought, NodeType
from workflows.models import WorkflowExecution

MAX_BATCH = 1000
NODE_ID_MAX = 100
CONTENT_MAX = 20_000
UPDATABLE = ["node_type", "content", "metadata", "parent_node_id", "confidence_score", "processing_time_ms"]


class ThoughtBatchError(DomainError):
    """The batch is invalid; `field` is the offending place (e.g. `thoughts[2].parent_node_id`)."""

    def __init__(self, message: str, *, field: str | None = None, node_id: str | None = None):
        super().__init__(message, field=field, node_id=node_id)
        self.node_id = node_id


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _clean(index: int, item) -> dict:
    where = f"thoughts[{index}]"
    if not isinstance(item, dict):
        raise ThoughtBatchError(f"{where} must be an object", field=where)
    node_id = item.get("node_id")
    if not isinstance(node_id, str) or not node_id or len(node_id) > NODE_ID_MAX:
        raise ThoughtBatchError(f"{where}.node_id must be a string of 1 to {NODE_ID_MAX} characters",
                                field=f"{where}.node_id")
    label = f"{where} (node {node_id!r})"
    node_type = item.get("node_type", item.get("type"))
    if node_type not in NodeType.values:
        raise ThoughtBatchError(f"{label}: node_type must be one of {', '.join(NodeType.values)}",
                                field=f"{where}.node_type", node_id=node_id)
    content = item.get("content")
    if not isinstance(content, str) or not content or len(content) > CONTENT_MAX:
        raise ThoughtBatchError(f"{label}: content must be a non-empty string of at most {CONTENT_MAX} characters",
                                field=f"{where}.content", node_id=node_id)
    parent = item.get("parent_node_id")
    if parent is not None and (not isinstance(parent, str) or not parent or len(parent) > NODE_ID_MAX):
        raise ThoughtBatchError(f"{label}: parent_node_id must be null or a node id string",
                                field=f"{where}.parent_node_id", node_id=node_id)
    metadata = item.get("metadata", {})
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise ThoughtBatchError(f"{label}: metadata must be an object", field=f"{where}.metadata", node_id=node_id)
    redact_headers(metadata)  # a node may record the request that reached it, headers and all
    unstorable = unstorable_path(item)  # NUL characters, deep nesting: 500s in PostgreSQL before
    if unstorable is not None:
        raise ThoughtBatchError(f"{label}: {unstorable_message(unstorable)}",
                                field=f"{where}.{top_field(unstorable)}", node_id=node_id)
    confidence = item.get("confidence_score", item.get("confidence"))
    if confidence is not None:
        try:
            if isinstance(confidence, bool) or not isinstance(confidence, (int, float, str)):
                raise InvalidOperation
            confidence = Decimal(str(confidence)).quantize(Decimal("0.01"))
        except InvalidOperation:
            confidence = Decimal(-1)
        if not (0 <= confidence <= 1):
            raise ThoughtBatchError(f"{label}: confidence_score must be a number between 0 and 1",
                                    field=f"{where}.confidence_score", node_id=node_id)
    elapsed = item.get("processing_time_ms")
    if elapsed is not None and (not _is_int(elapsed) or not 0 <= elapsed < 2**31):
        raise ThoughtBatchError(f"{label}: processing_time_ms must be a non-negative integer",
                                field=f"{where}.processing_time_ms", node_id=node_id)
    return {
        "node_id": node_id, "node_type": node_type, "content": content, "parent_node_id": parent,
        "metadata": metadata, "confidence_score": confidence, "processing_time_ms": elapsed,
    }


def _check_links(cleaned: list[dict], stored: dict[str, str | None]) -> None:
    parents = {**stored, **{c["node_id"]: c["parent_node_id"] for c in cleaned}}
    for index, item in enumerate(cleaned):
        parent = item["parent_node_id"]
        if parent is not None and parent not in parents:
            raise ThoughtBatchError(
                f"thoughts[{index}] (node {item['node_id']!r}): parent_node_id {parent!r} does not exist in this "
                "execution", field=f"thoughts[{index}].parent_node_id", node_id=item["node_id"],
            )
    for index, item in enumerate(cleaned):
        seen = {item["node_id"]}
        parent = item["parent_node_id"]
        while parent is not None:
            if parent in seen:
                raise ThoughtBatchError(
                    f"thoughts[{index}] (node {item['node_id']!r}): parent_node_id links form a cycle through "
                    f"{parent!r}", field=f"thoughts[{index}].parent_node_id", node_id=item["node_id"],
                )
            seen.add(parent)
            parent = parents.get(parent)


def thoughts_ingest(*, execution: WorkflowExecution, thoughts: list, agent_id=None) -> list[AgentThought]:
    """Validate and upsert a batch of thoughts for `execution`; all or nothing."""
    if not isinstance(thoughts, list) or not thoughts:
        raise ThoughtBatchError("thoughts must be a non-empty list", field="thoughts")
    if len(thoughts) > MAX_BATCH:
        raise ThoughtBatchError(f"at most {MAX_BATCH} thoughts per batch", field="thoughts")
    cleaned = [_clean(index, item) for index, item in enumerate(thoughts)]
    seen: set[str] = set()
    for index, item in enumerate(cleaned):
        if item["node_id"] in seen:
            raise ThoughtBatchError(f"thoughts[{index}]: node_id {item['node_id']!r} appears twice in the batch",
                                    field=f"thoughts[{index}].node_id", node_id=item["node_id"])
        seen.add(item["node_id"])
    with transaction.atomic():
        # The execution row lock serializes batches of one execution, so the cycle check holds.
        locked = WorkflowExecution.objects.select_for_update(of=("self",)).select_related("workflow").get(
            pk=execution.pk
        )
        if agent_id is None and locked.workflow is not None:
            agent_id = locked.workflow.agent_id
        stored = dict(AgentThought.objects.filter(execution_id=locked.pk).values_list("node_id", "parent_node_id"))
        _check_links(cleaned, stored)
        rows = [AgentThought(execution_id=locked.pk, agent_id=agent_id, **item) for item in cleaned]
        written = AgentThought.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["execution", "node_id"], update_fields=UPDATABLE
        )
        return written


def execution_mind_map(*, execution_id) -> list[dict]:
    """The execution's thoughts as a forest (roots first, children in creation order), one query.

    A node whose parent is missing (rows written outside the service) is shown as a root.
    """
    rows = list(
        AgentThought.objects.filter(execution_id=execution_id).order_by("created_at", "node_id").values(
            "id", "node_id", "parent_node_id", "node_type", "content", "metadata", "confidence_score",
            "processing_time_ms", "created_at",
        )
    )
    nodes = {}
    for row in rows:
        confidence = row["confidence_score"]
        nodes[row["node_id"]] = {
            "id": str(row["id"]), "node_id": row["node_id"], "parent_node_id": row["parent_node_id"],
            "type": row["node_type"], "content": row["content"], "metadata": row["metadata"],
            "confidence": float(confidence) if confidence is not None else None,
            "processing_time_ms": row["processing_time_ms"],
            "created_at": row["created_at"], "children": [],
        }
    roots = []
    for node in nodes.values():
        parent = nodes.get(node["parent_node_id"]) if node["parent_node_id"] else None
        (parent["children"] if parent is not None and parent is not node else roots).append(node)
    return roots
