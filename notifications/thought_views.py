"""HTTP endpoints for an execution's thoughts: batch ingestion and the mind map."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from echelon.policy import policy_for
from notifications.thoughts import ThoughtBatchError, execution_mind_map, thoughts_ingest
from echelon.openapi import ERRORS, described
from workflows.lifecycle_views import editable_row, error
from workflows.models import WorkflowExecution


class ExecutionThoughtsView(APIView):
    """POST /api/v1/workflow-executions/{id}/thoughts/ with a list (or {"thoughts": [...]}) → 201."""

    @extend_schema(
        operation_id="workflow_executions_thoughts", tags=["workflow-executions"],
        summary="Add thoughts (mind-map nodes) to an execution of an agent you may change", request=OpenApiTypes.OBJECT,
        responses={201: described("thoughts ingested"), **ERRORS},
    )
    def post(self, request, pk):
        execution = editable_row(WorkflowExecution, request.user, pk)
        if execution is None:
            return error(status.HTTP_403_FORBIDDEN, "You may not add thoughts to this execution")
        data = request.data
        thoughts = data.get("thoughts") if isinstance(data, dict) else data
        try:
            rows = thoughts_ingest(execution=execution, thoughts=thoughts)
        except ThoughtBatchError as exc:
            return error(status.HTTP_400_BAD_REQUEST, exc.message, exc.field, node_id=exc.node_id)
        return Response(
            {"execution": str(execution.pk), "ingested": len(rows), "node_ids": [row.node_id for row in rows]},
            status=status.HTTP_201_CREATED,
        )


class ExecutionMindMapView(APIView):
    """GET /api/v1/workflow-executions/{id}/mind-map/ → {"execution", "nodes": [tree]}."""

    @extend_schema(
        operation_id="workflow_executions_mind_map", tags=["workflow-executions"],
        summary="The execution's mind map: its thoughts as a tree",
        responses={200: described("the thought tree"), 404: ERRORS[404]},
    )
    def get(self, request, pk):
        execution = policy_for(WorkflowExecution).visible_to(request.user).filter(pk=pk).values("pk").first()
        if execution is None:
            return error(status.HTTP_404_NOT_FOUND, f"No workflow execution {pk}")
        return Response({"execution": str(pk), "nodes": execution_mind_map(execution_id=pk)})
