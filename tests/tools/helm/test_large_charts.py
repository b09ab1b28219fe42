"""helm_diff on a chart whose dry run is bigger than the output cap (issue 23).

The chart (`charts/podinfo`) is in the shape of the public podinfo chart with a Grafana dashboard
ConfigMap; helm's server-side dry run of it is about 180 KB of JSON and its manifest about 68 KB,
both over the 64 KiB cap on what a tool returns. The diff is what gets capped, never what it is
computed from. Each test checks the sizes with the real helm first, so it cannot pass on a chart
that stopped being large.
"""

from __future__ import annotations

import dataclasses

import pytest

from opsgate.tools.base import PreviewReport, ToolEnv
from tests.fixtures.sandbox import SandboxInfo, helm
from tests.tools.helm.helpers import PODINFO, call

pytestmark = [pytest.mark.sandbox]

CAP = 64 * 1024


def _sizes(sandbox: SandboxInfo, namespace: str) -> tuple[int, int]:
    """Bytes of the dry run (JSON) and of the rendered manifest, as helm itself prints them."""
    dry = helm(
        sandbox,
        *("upgrade", "web", str(PODINFO), "--install", "--namespace", namespace),
        *("--dry-run=server", "--output", "json"),
    )
    assert dry.returncode == 0, dry.stderr
    rendered = helm(sandbox, "template", "web", str(PODINFO), "--namespace", namespace)
    assert rendered.returncode == 0, rendered.stderr
    return len(dry.stdout.encode()), len(rendered.stdout.encode())


async def test_helm_diff_of_a_release_bigger_than_the_output_cap_shows_the_change(
    sandbox: SandboxInfo, helm_env: ToolEnv, namespace: str
) -> None:
    dry_run_bytes, manifest_bytes = _sizes(sandbox, namespace)
    assert dry_run_bytes > CAP
    assert manifest_bytes > CAP
    installed = helm(sandbox, "install", "web", str(PODINFO), "--namespace", namespace)
    assert installed.returncode == 0, installed.stderr
    assert helm_env.output_cap_bytes == CAP

    diff = await call(
        helm_env,
        "helm_diff",
        {
            "release": "web",
            "namespace": namespace,
            "chart": str(PODINFO),
            "set": {"replicaCount": "3"},
        },
    )

    assert diff.ok, diff.text
    assert isinstance(diff.data, PreviewReport)
    assert diff.data.state == "changes"
    assert "-  replicas: 1" in diff.text
    assert "+  replicas: 3" in diff.text
    assert not diff.truncated
    # Only the Deployment's replicas differ: the dashboard is the same on both sides.
    changed = [
        line
        for line in diff.text.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed == ["-  replicas: 1", "+  replicas: 3"]


async def test_helm_diff_of_an_unchanged_big_release_says_there_is_no_change(
    sandbox: SandboxInfo, helm_env: ToolEnv, namespace: str
) -> None:
    installed = helm(sandbox, "install", "web", str(PODINFO), "--namespace", namespace)
    assert installed.returncode == 0, installed.stderr

    diff = await call(
        helm_env, "helm_diff", {"release": "web", "namespace": namespace, "chart": str(PODINFO)}
    )

    assert diff.ok, diff.text
    assert isinstance(diff.data, PreviewReport)
    assert diff.data.state == "no_change"


async def test_a_diff_bigger_than_the_cap_is_cut_and_says_so(
    sandbox: SandboxInfo, helm_env: ToolEnv, namespace: str
) -> None:
    small = dataclasses.replace(helm_env, output_cap_bytes=8 * 1024)

    diff = await call(
        small, "helm_diff", {"release": "web", "namespace": namespace, "chart": str(PODINFO)}
    )

    assert diff.ok, diff.text
    assert isinstance(diff.data, PreviewReport)
    assert diff.data.state == "changes"
    assert diff.truncated
    assert len(diff.text.encode()) < 9 * 1024
    last = diff.text.splitlines()[-1]
    assert last.startswith("[diff truncated: showing ")
    assert last.endswith(" bytes]")
    assert "+kind: ConfigMap" in diff.text
