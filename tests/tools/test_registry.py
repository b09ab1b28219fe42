"""The registry of every tool across families."""

from __future__ import annotations

import pytest

from opsgate.errors import ToolNotFound
from opsgate.tools import kubectl, registry
from opsgate.tools.base import Tool


def test_all_kubectl_tools_are_registered_once() -> None:
    tools = registry.all_tools()
    assert {tool.name for tool in kubectl.TOOLS} <= set(tools)
    assert all(tools[name].name == name for name in tools)


def test_every_tool_has_a_description_and_schema() -> None:
    for tool in registry.all_tools().values():
        assert len(tool.description) > 20, tool.name
        schema = tool.input_schema()
        assert schema["type"] == "object", tool.name
        assert schema.get("additionalProperties") is False, tool.name


def test_unknown_tool() -> None:
    with pytest.raises(ToolNotFound, match="'k8s_nope'"):
        registry.get_tool(registry.all_tools(), "k8s_nope")


EXPECTED_HINTS = {
    # name: (readOnly, destructive, idempotent, openWorld)
    "k8s_get": (True, False, True, False),
    "k8s_diff": (True, False, True, False),
    "k8s_wait_seconds": (True, False, True, False),
    "k8s_wait_for": (True, False, True, False),
    "k8s_auth_can_i": (True, False, True, False),
    "helm_lint": (True, False, True, False),
    "k8s_create_job_from_cronjob": (False, False, False, True),
    "helm_template": (True, False, True, True),
    "helm_test": (False, False, False, True),
    "helm_dependency_build": (False, False, True, True),
    "k8s_apply": (False, False, True, True),
    "k8s_scale": (False, False, True, False),
    "k8s_rollout_restart": (False, False, False, False),
    "k8s_rollout_undo": (False, True, False, False),
    "k8s_delete": (False, True, True, False),
    "k8s_drain": (False, True, True, False),
    "k8s_exec": (False, True, False, True),
    "k8s_run_pod": (False, False, False, True),
}


@pytest.mark.parametrize(("name", "hints"), EXPECTED_HINTS.items())
def test_annotations_are_deliberate(name: str, hints: tuple[bool, bool, bool, bool]) -> None:
    annotations = registry.all_tools()[name].annotations
    assert (
        annotations.read_only,
        annotations.destructive,
        annotations.idempotent,
        annotations.open_world,
    ) == hints


def test_reads_and_mutations_split_as_the_issue_lists() -> None:
    reads = {
        "k8s_get", "k8s_describe", "k8s_logs", "k8s_events", "k8s_rollout_status",
        "k8s_rollout_history", "k8s_cluster_info", "k8s_contexts", "k8s_top_pods",
        "k8s_top_nodes", "k8s_api_resources", "k8s_auth_can_i", "k8s_diff", "k8s_wait_seconds",
        "k8s_wait_for", "k8s_diagnose",
    }  # fmt: skip
    for tool in kubectl.TOOLS:
        assert tool.annotations.read_only is (tool.name in reads), tool.name
        if not tool.annotations.read_only:
            assert tool.name != "k8s_exec" or tool.read_only_when is not None


def test_every_parameter_of_every_family_is_described_for_the_model() -> None:
    undescribed = [
        f"{tool.name}.{name}"
        for tool in registry.all_tools().values()
        for name, prop in tool.input_schema().get("properties", {}).items()
        if name != "context" and len(prop.get("description", "").strip()) < 8
    ]
    assert undescribed == []


def test_every_family_is_registered() -> None:
    assert {tool.family for tool in registry.all_tools().values()} == {
        "kubectl",
        "helm",
        "argo",
        "jenkins",
    }


def _mutating(tool: Tool) -> bool:
    return not tool.annotations.read_only or tool.read_only_when is not None


def test_every_mutation_declares_preview_verify_command_and_what_its_verify_proves() -> None:
    undeclared = [
        tool.name
        for tool in registry.all_tools().values()
        if _mutating(tool)
        and not (
            tool.preview
            and tool.verify
            and tool.command
            and tool.verifies
            and "\n" not in tool.verifies
            and len(tool.verifies.split()) >= 4
        )
    ]
    assert undeclared == []


def test_reads_declare_nothing_to_preview_or_verify() -> None:
    for tool in registry.all_tools().values():
        if not _mutating(tool):
            assert (tool.preview, tool.verify, tool.verifies, tool.command) == (None,) * 4
