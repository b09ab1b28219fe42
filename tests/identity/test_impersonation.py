"""Acting as a person on the cluster: under `impersonate`, reads run as the requester and an
approved change as the approver, through real kubectl's `--as`/`--as-group` against the
sandbox, whose RBAC decides. The sandbox kubeconfig's admin may impersonate anyone (as a
cluster admin may); the people's rights come from the Roles bound to their groups."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from opsgate.domain import approval_token, run_timeline
from opsgate.domain.acting import ACTING_AS_META_KEY, ActingAs
from opsgate.errors import ApprovalRequired
from opsgate.mcp.client import ToolClient
from opsgate.mcp.server import create_server
from opsgate.tools import registry
from opsgate.tools.base import CommandResult, ToolEnv
from opsgate.tools.runner import SubprocessRunner, child_env
from tests.fixtures.calls import stored_call
from tests.fixtures.engine import APPROVAL_KEY, Harness, HarnessFactory
from tests.fixtures.sandbox import SandboxInfo, deployment_manifest, get_json, kubectl

pytestmark = [pytest.mark.sandbox]

RBAC = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: readers, namespace: {ns}}}
rules:
  - apiGroups: ["apps"]
    resources: ["deployments", "replicasets"]
    verbs: ["get", "list", "watch"]
  - apiGroups: [""]
    resources: ["pods", "events"]
    verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: readers, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: readers}}
subjects: [{{kind: Group, name: dev}}, {{kind: Group, name: deployers}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: scalers, namespace: {ns}}}
rules:
  - apiGroups: ["apps"]
    resources: ["deployments", "deployments/scale"]
    verbs: ["get", "patch", "update"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: scalers, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: scalers}}
subjects: [{{kind: Group, name: deployers}}]
"""


@dataclass
class RecordingRunner:
    """The real subprocess runner, remembering each argv it ran (kubectl's, as executed)."""

    inner: SubprocessRunner
    argvs: list[tuple[str, ...]] = field(default_factory=list)

    async def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        timeout_s: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        self.argvs.append(tuple(argv))
        return await self.inner.run(argv, stdin=stdin, timeout_s=timeout_s, env=env)

    def cluster_argvs(self) -> list[tuple[str, ...]]:
        """Everything but resolving the context (`kubectl config view`, local only)."""
        return [a for a in self.argvs if "config" not in a]


@dataclass
class Rig:
    factory: HarnessFactory
    runner: RecordingRunner
    env: ToolEnv


@pytest.fixture
async def rig(sandbox: SandboxInfo, tmp_path: Path) -> AsyncIterator[Rig]:
    runner = RecordingRunner(
        SubprocessRunner(env=child_env({**os.environ, "HOME": str(sandbox.home)}))
    )
    env = ToolEnv(
        runner=runner,
        kubectl=sandbox.kubectl,
        helm=sandbox.helm,
        kubeconfig=sandbox.kubeconfig,
        default_context=sandbox.context,
        helm_home=tmp_path / "helm",
    )
    factory = HarnessFactory(
        tmp_path / "data",
        tool_env=env,
        tools=registry.all_tools(),
        context=sandbox.context,
        cluster_identity={sandbox.context: "impersonate"},
    )
    async with factory.stack:
        yield Rig(factory, runner, env)


def _prepare(sandbox: SandboxInfo, namespace: str) -> None:
    rbac = RBAC.format(ns=namespace)
    for manifest in (deployment_manifest("web", namespace, "nginx:1.27", 2), rbac):
        done = kubectl(sandbox, "apply", "-f", "-", stdin=manifest)
        assert done.returncode == 0, done.stderr


def _replicas(sandbox: SandboxInfo, namespace: str) -> int:
    return int(get_json(sandbox, "deployment/web", "-n", namespace)["spec"]["replicas"])


async def _people(h: Harness, approver_groups: tuple[str, ...]) -> None:
    await h.store.update_user(h.operator.id, groups=("dev",))
    await h.store.update_user(h.approver.id, groups=approver_groups)


async def _scale_approved(h: Harness, namespace: str) -> str:
    """A direct `k8s_scale` of web to 3 by the operator, approved by the approver; the call id."""
    args = {"resource": "deployment/web", "replicas": 3, "namespace": namespace}
    run = await h.engine.submit_call(h.conversation.id, h.operator, "k8s_scale", args)
    await h.engine.wait_run(run.id)
    approval_id = await h.pending_approval_id(run.id)
    [item] = (await h.store.get_approval(approval_id)).items
    approver = await h.store.get_user(h.approver.id)
    # The proposer (group dev) may not patch, so the dry run fails: approving needs a reason.
    await h.engine.decide(
        approval_id, item.call_id, approver, approve=True, reason="the cluster decides"
    )
    await h.engine.wait_run(run.id)
    return item.call_id


async def test_a_change_approved_by_someone_whose_groups_cannot_patch_fails_with_the_403(
    rig: Rig, sandbox: SandboxInfo, namespace: str
) -> None:
    _prepare(sandbox, namespace)
    h = await rig.factory.open()
    await _people(h, approver_groups=("dev",))
    call_id = await _scale_approved(h, namespace)

    call = await stored_call(h.store, call_id)
    assert call.status == "failed"
    assert call.acting_as == "arne (groups: dev)"
    expected = (
        f'User "arne" cannot patch resource "deployments/scale" in API group "apps" '
        f'in the namespace "{namespace}"'
    )
    assert expected in (call.output or "")
    events = await h.store.list_audit(limit=1000)
    [started] = [e for e in events if e.kind == "tool.started" and e.call_id == call_id]
    assert started.payload["acting_as"] == "arne (groups: dev)", "the audit names who acted"
    timeline = run_timeline.build(started.run_id or "", events)
    [execution] = [s for s in timeline.steps if s.kind == "execution" and s.call_id == call_id]
    assert execution.actor == "arne (groups: dev)"
    finished = [e for e in events if e.kind == "tool.finished"]
    assert finished[-1].call_id == call_id
    assert finished[-1].payload["status"] == "failed"
    assert expected in finished[-1].payload["output"]
    assert _replicas(sandbox, namespace) == 2


async def test_the_argv_carries_the_people_exactly_and_an_approver_with_rights_succeeds(
    rig: Rig, sandbox: SandboxInfo, namespace: str
) -> None:
    _prepare(sandbox, namespace)
    h = await rig.factory.open()
    await _people(h, approver_groups=("deployers", "oncall"))
    read = await h.engine.submit_call(
        h.conversation.id,
        h.operator,
        "k8s_get",
        {"resource": "deployment/web", "namespace": namespace},
    )
    await h.engine.wait_run(read.id)
    [got] = await h.store.list_calls(run_id=read.id)
    assert got.status == "succeeded", got.output
    assert got.acting_as == "olga (groups: dev)"
    [read_argv] = rig.runner.cluster_argvs()
    head = [
        str(sandbox.kubectl),
        "--kubeconfig",
        str(sandbox.kubeconfig),
        "--context",
        sandbox.context,
        "--as=olga",
        "--as-group=dev",
    ]
    assert list(read_argv[: len(head)]) == head
    assert sum(a.startswith("--as") for a in read_argv) == 2

    rig.runner.argvs.clear()
    call_id = await _scale_approved(h, namespace)
    call = await stored_call(h.store, call_id)
    assert call.status == "verified", call.output
    assert call.acting_as == "arne (groups: deployers, oncall)"
    assert _replicas(sandbox, namespace) == 3
    # The dry run ran as the proposer; the change and its check as the approver.
    seen = [_as_and_verb(argv) for argv in rig.runner.cluster_argvs()]
    olga, arne = (
        ("--as=olga", "--as-group=dev"),
        (
            "--as=arne",
            "--as-group=deployers",
            "--as-group=oncall",
        ),
    )
    assert seen == [(olga, "get"), (olga, "patch"), (arne, "scale"), (arne, "get")]


def _as_and_verb(argv: Sequence[str]) -> tuple[tuple[str, ...], str]:
    """The `--as*` flags of a kubectl argv, and the verb after them."""
    flags = tuple(a for a in argv if a.startswith("--as"))
    # kubectl --kubeconfig PATH --context NAME, then the flags, then the verb.
    return flags, argv[5 + len(flags)]


async def test_a_read_without_rights_is_the_clusters_403_naming_the_user(
    rig: Rig, sandbox: SandboxInfo, namespace: str
) -> None:
    _prepare(sandbox, namespace)
    h = await rig.factory.open()
    await h.store.update_user(h.operator.id, groups=("strangers",))
    run = await h.engine.submit_call(
        h.conversation.id, h.operator, "k8s_get", {"resource": "secrets", "namespace": namespace}
    )
    await h.engine.wait_run(run.id)
    [call] = await h.store.list_calls(run_id=run.id)
    assert call.status == "failed"
    assert (
        f'User "olga" cannot list resource "secrets" in API group "" in the namespace '
        f'"{namespace}"' in (call.output or "")
    )


async def test_the_tool_server_refuses_an_impersonating_context_naming_nobody(
    rig: Rig, sandbox: SandboxInfo, namespace: str
) -> None:
    h = await rig.factory.open()
    impersonating = dataclasses.replace(rig.env, cluster_identity={sandbox.context: "impersonate"})
    args = {"resource": "deployments", "namespace": namespace, "context": sandbox.context}
    async with ToolClient.in_memory(
        create_server(impersonating, registry.all_tools(), APPROVAL_KEY, spent=h.store)
    ) as client:
        nobody = await client.call("k8s_get", args)
    assert not nobody.ok
    assert "names nobody; nothing was run" in nobody.text
    assert rig.runner.cluster_argvs() == []


async def test_a_service_context_refuses_a_request_to_act_as_someone(
    rig: Rig, sandbox: SandboxInfo
) -> None:
    h = await rig.factory.open()
    service = dataclasses.replace(rig.env, cluster_identity={})
    async with ToolClient.in_memory(
        create_server(service, registry.all_tools(), APPROVAL_KEY, spent=h.store)
    ) as client:
        result = await client.call(
            "k8s_get",
            {"resource": "deployments", "namespace": "shop"},
            acting_as=ActingAs(user="admin", groups=("system:masters",)),
        )
    assert not result.ok
    assert "uses opsgate's own identity" in result.text
    assert rig.runner.cluster_argvs() == []


@pytest.mark.parametrize(
    "args",
    [
        {"resource": "deployments", "namespace": "shop", "as": "admin"},
        {"resource": "deployments", "namespace": "shop", "as_group": ["system:masters"]},
        {"resource": "deployments", "namespace": "shop", ACTING_AS_META_KEY: {"user": "x"}},
        {"resource": "deployments", "namespace": "--as=admin"},
    ],
)
async def test_the_model_cannot_set_who_a_call_acts_as(
    rig: Rig, sandbox: SandboxInfo, args: dict[str, Any]
) -> None:
    h = await rig.factory.open()
    [check] = await h.engine.deps.tools.classify([("k8s_get", args)])
    assert not check.valid


def test_a_token_for_one_person_does_not_let_the_call_act_as_another() -> None:
    claim = approval_token.ApprovalClaim("h" * 64, "apr:call", 2e9, acting_as="arne (no groups)")
    token = approval_token.mint(APPROVAL_KEY, claim)
    assert approval_token.verify(APPROVAL_KEY, token, "h" * 64, 1.0, "arne (no groups)") == claim
    for other in ("olga (no groups)", None):
        with pytest.raises(ApprovalRequired, match="another identity"):
            approval_token.verify(APPROVAL_KEY, token, "h" * 64, 1.0, other)


async def test_helm_acts_as_the_person_too(rig: Rig, sandbox: SandboxInfo, namespace: str) -> None:
    _prepare(sandbox, namespace)
    h = await rig.factory.open()
    impersonating = dataclasses.replace(rig.env, cluster_identity={sandbox.context: "impersonate"})
    async with ToolClient.in_memory(
        create_server(impersonating, registry.all_tools(), APPROVAL_KEY, spent=h.store)
    ) as client:
        listed = await client.call(
            "helm_list",
            {"namespace": namespace, "context": sandbox.context},
            acting_as=ActingAs(user="olga", groups=("dev",)),
        )
    assert not listed.ok
    assert (
        f'User "olga" cannot list resource "secrets" in API group "" in the namespace "{namespace}"'
        in listed.text
    )
    [argv] = rig.runner.cluster_argvs()
    assert "--kube-as-user=olga" in argv
    assert "--kube-as-group=dev" in argv
