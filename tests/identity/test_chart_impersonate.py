"""The Helm chart's `impersonate` RBAC preset, rendered by the real helm: the ServiceAccount
may only `impersonate` the mapped users and groups, and the server is told to act as people
on `in-cluster`. A ServiceAccount bound by it, on the sandbox, can act as a mapped user and
as nobody else."""

from __future__ import annotations

import json

import pytest
import yaml

from opsgate.settings import Settings
from tests.deploy.test_chart import CHART, by_kind, render
from tests.fixtures.sandbox import SandboxInfo, helm, kubectl

pytestmark = pytest.mark.sandbox

VALUES = [
    "rbac.preset=impersonate",
    "rbac.impersonate.users={alice,bob}",
    "rbac.impersonate.groups={dev}",
]


def test_the_service_account_may_only_impersonate_the_mapped_people(
    sandbox: SandboxInfo,
) -> None:
    objects = render(sandbox, "opsgate", VALUES)
    assert not by_kind(objects, "Role")
    (role,) = by_kind(objects, "ClusterRole")
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["users"],
            "verbs": ["impersonate"],
            "resourceNames": ["alice", "bob"],
        },
        {
            "apiGroups": [""],
            "resources": ["groups"],
            "verbs": ["impersonate"],
            "resourceNames": ["dev"],
        },
    ]
    (binding,) = by_kind(objects, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"][0]["kind"] == "ServiceAccount"
    (deployment,) = by_kind(objects, "Deployment")
    env = {
        e["name"]: e.get("value")
        for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    identity = env["OPSGATE_CLUSTER_IDENTITY"]
    assert identity is not None
    assert Settings.model_validate({"cluster_identity": json.loads(identity)}).cluster_identity == {
        "in-cluster": "impersonate"
    }


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["rbac.preset=impersonate"], "needs rbac.impersonate.users or .groups"),
        (
            ["rbac.preset=impersonate", "rbac.impersonate.groups={system:masters}"],
            "must not hold system:masters",
        ),
    ],
)
def test_impersonating_everyone_or_the_masters_is_refused(
    sandbox: SandboxInfo, values: list[str], message: str
) -> None:
    flags = [flag for value in values for flag in ("--set", value)]
    rendered = helm(sandbox, "template", "og", str(CHART), *flags)
    assert rendered.returncode != 0
    assert message in rendered.stderr


def test_the_other_presets_set_no_cluster_identity(sandbox: SandboxInfo) -> None:
    (deployment,) = by_kind(render(sandbox, "opsgate", ["rbac.preset=readOnly"]), "Deployment")
    names = {e["name"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "OPSGATE_CLUSTER_IDENTITY" not in names


def test_on_the_sandbox_the_bound_account_acts_as_a_mapped_user_and_no_one_else(
    sandbox: SandboxInfo, namespace: str
) -> None:
    objects = render(sandbox, namespace, VALUES)
    rbac = [
        o for o in objects if o["kind"] in ("ClusterRole", "ClusterRoleBinding", "ServiceAccount")
    ]
    applied = kubectl(sandbox, "apply", "-f", "-", stdin=yaml.safe_dump_all(rbac))
    assert applied.returncode == 0, applied.stderr
    (account,) = by_kind(rbac, "ServiceAccount")
    sa = f"system:serviceaccount:{namespace}:{account['metadata']['name']}"

    def can(*args: str) -> str:
        done = kubectl(sandbox, "auth", "can-i", *args, "--as", sa)
        return done.stdout.strip()

    assert can("impersonate", "users/alice") == "yes"
    assert can("impersonate", "groups/dev") == "yes"
    assert can("impersonate", "users/mallory") == "no"
    assert can("impersonate", "groups/system:masters") == "no"
    assert can("patch", "deployments", "-n", namespace) == "no"
    for obj in by_kind(rbac, "ClusterRole") + by_kind(rbac, "ClusterRoleBinding"):
        kubectl(sandbox, "delete", obj["kind"].lower(), obj["metadata"]["name"])
