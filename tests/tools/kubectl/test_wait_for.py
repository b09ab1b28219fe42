"""`k8s_wait_for` (kubectl wait) against the sandbox's demo world with the real kubectl: a met
condition, a JSONPath filter, deletion, and a condition never met, which ends at its bound
having said, while it waited, that it was still waiting."""

from __future__ import annotations

import dataclasses

import pytest

from opsgate.mcp.client import ToolClient
from opsgate.tools.base import ToolEnv
from tests.tools.kubectl.helpers import call

pytestmark = pytest.mark.sandbox


async def test_a_met_condition_returns_at_once_naming_each_object(tool_env: ToolEnv) -> None:
    args = {"resource": "pods", "selector": "app=frontend", "namespace": "shop"}
    output = await call(tool_env, "k8s_wait_for", {**args, "condition": "Ready"})
    assert output.ok, output.text
    assert output.text.count("condition met") == 3
    assert output.duration_ms < 10_000


async def test_a_jsonpath_filter_with_a_value_is_waited_for(tool_env: ToolEnv) -> None:
    args = {
        "resource": "deployment/frontend",
        "namespace": "shop",
        "jsonpath": '{.status.conditions[?(@.type=="Available")].status}',
        "value": "True",
    }
    output = await call(tool_env, "k8s_wait_for", args)
    assert output.ok, output.text
    assert "deployment.apps/frontend condition met" in output.text


async def test_waiting_for_the_deletion_of_what_is_gone_says_it_is_gone(
    tool_env: ToolEnv,
) -> None:
    args = {"resource": "pod/never-existed", "namespace": "shop", "deleted": True}
    output = await call(tool_env, "k8s_wait_for", args)
    assert output.ok, output.text
    assert output.text == "pod/never-existed: gone"


async def test_a_condition_never_met_fails_at_its_bound_and_reports_progress(
    tool_env: ToolEnv,
) -> None:
    reports: list[str] = []

    async def report(text: str) -> None:
        reports.append(text)

    env = dataclasses.replace(tool_env, report=report)
    args = {"resource": "deployment/api", "namespace": "shop", "condition": "Available"}
    output = await call(env, "k8s_wait_for", {**args, "timeout_s": 6})
    assert not output.ok
    assert "timed out waiting for the condition on deployments/api" in output.text
    assert output.text.endswith("not met within 6 s: condition=Available")
    assert reports == ["waiting for deployment/api: condition=Available (5 of 6 s)"]


async def test_an_object_that_does_not_exist_fails_at_once(tool_env: ToolEnv) -> None:
    args = {"resource": "deployment/nope", "namespace": "shop", "condition": "Available"}
    output = await call(tool_env, "k8s_wait_for", args)
    assert not output.ok
    assert 'deployments.apps "nope" not found' in output.text


async def test_the_wait_reports_reach_an_mcp_client_as_progress(served: ToolClient) -> None:
    heard: list[str] = []

    async def hear(message: str) -> None:
        heard.append(message)

    args = {"resource": "deployment/api", "namespace": "shop", "condition": "Available"}
    result = await served.call("k8s_wait_for", {**args, "timeout_s": 6}, on_progress=hear)
    assert not result.ok
    assert "waiting for deployment/api: condition=Available (5 of 6 s)" in heard
