"""Previews through the MCP server against the sandbox: each says whether the call would change
something, nothing, or could not be dry-run, and the exact command the approved call will run.

`opsgate_preview` answers with a `PreviewReport` in `structured_content["data"]`; the cluster is
read back with the fixture's own kubectl to prove the preview changed nothing.
"""

from __future__ import annotations

import pytest

from opsgate.mcp.client import ToolCallResult, ToolClient
from opsgate.tools.base import PreviewReport
from tests.fixtures.sandbox import SandboxInfo, deployment_manifest, get_json, kubectl

pytestmark = [pytest.mark.sandbox]


def report(result: ToolCallResult) -> PreviewReport:
    return PreviewReport.model_validate(result.data)


@pytest.fixture
def web(sandbox: SandboxInfo, namespace: str) -> str:
    """A Deployment `web` of two ready replicas in the test's namespace."""
    manifest = deployment_manifest("web", namespace, "nginx:1.27", replicas=2)
    created = kubectl(sandbox, "apply", "-f", "-", stdin=manifest)
    assert created.returncode == 0, created.stderr
    return namespace


async def test_a_real_change_previews_changes_with_its_diff_and_command(
    served: ToolClient, sandbox: SandboxInfo, web: str
) -> None:
    args = {"resource": "deployment/web", "namespace": web, "images": {"web": "nginx:1.28"}}
    before = get_json(sandbox, "deployment/web", "-n", web)["metadata"]["resourceVersion"]
    result = await served.preview("k8s_set_image", args)
    assert result.ok, result.text
    assert "+      - image: nginx:1.28" in result.text
    assert report(result) == PreviewReport(
        state="changes",
        command=(
            f"{sandbox.kubectl} --kubeconfig {sandbox.kubeconfig} --context {sandbox.context} "
            f"set image deployment/web --namespace {web} web=nginx:1.28"
        ),
        labels={"app": "web"},  # the live object's, for the approval policy
    )
    after = get_json(sandbox, "deployment/web", "-n", web)["metadata"]["resourceVersion"]
    assert after == before


async def test_scaling_to_the_current_replica_count_previews_no_change(
    served: ToolClient, web: str
) -> None:
    same = await served.preview(
        "k8s_scale", {"resource": "deployment/web", "namespace": web, "replicas": 2}
    )
    assert same.ok, same.text
    assert report(same).state == "no_change"
    more = await served.preview(
        "k8s_scale", {"resource": "deployment/web", "namespace": web, "replicas": 3}
    )
    assert report(more).state == "changes"


async def test_a_patch_of_a_missing_object_previews_failed(
    served: ToolClient, namespace: str
) -> None:
    result = await served.preview(
        "k8s_patch",
        {"resource": "deployment/nothere", "namespace": namespace, "patch": '{"spec": {}}'},
    )
    assert not result.ok
    assert "NotFound" in result.text
    shown = report(result)
    assert shown.state == "failed"
    assert shown.command is not None
    assert shown.command.endswith(
        f"patch deployment/nothere --namespace {namespace} "
        "--type=strategic '--patch={\"spec\":{}}'"
    )


async def test_a_restart_previews_the_new_pod_template_it_would_roll_out(
    served: ToolClient, web: str
) -> None:
    result = await served.preview(
        "k8s_rollout_restart", {"resource": "deployment/web", "namespace": web}
    )
    assert result.ok, result.text
    assert "kubectl.kubernetes.io/restartedAt" in result.text
    assert report(result).state == "changes"


async def test_cordoning_a_cordoned_node_previews_no_change_and_a_missing_one_failed(
    served: ToolClient,
) -> None:
    uncordoned = await served.preview("k8s_uncordon", {"node": "sandbox-worker-1"})
    assert report(uncordoned).state == "no_change", uncordoned.text
    missing = await served.preview("k8s_cordon", {"node": "no-such-node"})
    assert report(missing).state == "failed"


async def test_removing_a_repository_helm_does_not_have_previews_failed(
    served: ToolClient,
) -> None:
    result = await served.preview("helm_repo_remove", {"name": "never-added"})
    assert report(result).state == "failed"
    assert "never-added" in result.text
    assert report(result).command is not None
