"""Serializer fields are built once per class (echelon.api.serializers.ModelSerializer.get_fields)
and copied per instance: no instance shares a field with another, and a per-instance adjustment
does not leak into the next instance."""

from __future__ import annotations

from agents.api.serializers import AgentSerializer
from workflows.api.serializers import DeploymentSerializer


def test_each_serializer_gets_its_own_fields_equal_to_a_fresh_build():
    first, second = AgentSerializer(), AgentSerializer()
    assert first.fields.keys() == second.fields.keys()
    for name in first.fields:
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
        assert type(first.fields[name]) is type(second.fields[name])
        assert first.fields[name].read_only == second.fields[name].read_only


def test_a_per_instance_adjustment_stays_with_its_instance():
    existing = object()  # CreateOnlyAgentMixin: `agent` is read-only once there is an instance
    assert DeploymentSerializer(instance=existing).fields["agent"].read_only
    assert not DeploymentSerializer().fields["agent"].read_only
    assert DeploymentSerializer(instance=existing).fields["agent"].read_only
