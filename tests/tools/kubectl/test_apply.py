"""A multi-document `k8s_apply` is all or nothing, and previews document by document.

Against the sandbox with the real kubectl: a manifest with a valid Pod and a document of a kind
the server does not know applies nothing (the Pod is read back absent by the fixture's own
kubectl) and previews `failed`, naming the document.
"""

from __future__ import annotations

import pytest

from opsgate.mcp.client import ToolClient
from opsgate.tools import registry
from opsgate.tools.base import DocumentPreview, PreviewReport, ToolEnv
from tests.fixtures.sandbox import SandboxInfo, kubectl

pytestmark = [pytest.mark.sandbox]

APPLY = registry.all_tools()["k8s_apply"]


def manifest(namespace: str, *, decoy: bool) -> str:
    pod = f"""apiVersion: v1
kind: Pod
metadata: {{name: privileged, namespace: {namespace}}}
spec: {{containers: [{{name: app, image: "busybox:1.36"}}]}}
"""
    other = (
        f"apiVersion: example.com/v1\nkind: Decoy\nmetadata: {{name: x, namespace: {namespace}}}\n"
        if decoy
        else f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cfg, namespace: {namespace}}}\n"
    )
    return f"{pod}---\n{other}"


def exists(sandbox: SandboxInfo, namespace: str, ref: str) -> bool:
    return kubectl(sandbox, "get", ref, "-n", namespace).returncode == 0


async def test_a_manifest_with_a_document_of_an_unknown_kind_applies_nothing(
    cluster_env: ToolEnv, sandbox: SandboxInfo, namespace: str
) -> None:
    params = APPLY.parse({"manifest": manifest(namespace, decoy=True)})
    output = await APPLY.run(params, cluster_env)
    assert not output.ok
    assert output.text.startswith(
        "nothing was applied: the server-side dry run of the whole manifest failed at "
        "document 2 (Decoy/x)"
    )
    assert not exists(sandbox, namespace, "pod/privileged")


async def test_its_preview_is_failed_and_says_which_document(
    served: ToolClient, sandbox: SandboxInfo, namespace: str
) -> None:
    result = await served.preview("k8s_apply", {"manifest": manifest(namespace, decoy=True)})
    assert not result.ok
    report = PreviewReport.model_validate(result.data)
    assert report.state == "failed"
    assert report.documents == [
        DocumentPreview(index=1, name="Pod/privileged", state="changes"),
        DocumentPreview(index=2, name="Decoy/x", state="failed"),
    ]
    assert "== document 2: Decoy/x (failed)" in result.text
    assert not exists(sandbox, namespace, "pod/privileged")


async def test_a_valid_manifest_previews_each_document_then_applies_all_of_them(
    served: ToolClient, cluster_env: ToolEnv, sandbox: SandboxInfo, namespace: str
) -> None:
    text = manifest(namespace, decoy=False)
    before = PreviewReport.model_validate(
        (await served.preview("k8s_apply", {"manifest": text})).data
    )
    assert (before.state, [d.state for d in before.documents]) == (
        "changes",
        ["changes", "changes"],
    )
    applied = await APPLY.run(APPLY.parse({"manifest": text}), cluster_env)
    assert applied.ok, applied.text
    assert exists(sandbox, namespace, "pod/privileged")
    assert exists(sandbox, namespace, "configmap/cfg")
    again = PreviewReport.model_validate(
        (await served.preview("k8s_apply", {"manifest": text})).data
    )
    assert again.state == "no_change", again
