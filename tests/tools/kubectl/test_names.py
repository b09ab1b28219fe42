"""Object names by kind (issue 23): RBAC objects are named like `system:node`, everything else
with DNS-1123 names, in every parameter that names an object and in applied manifests."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from opsgate.tools import kubectl
from opsgate.tools.command import Target
from opsgate.tools.kubectl import manifests, reads

TOOLS = {tool.name: tool for tool in kubectl.TOOLS}
TARGET = Target(binary="kubectl", path="/opt/kubectl", kubeconfig=None, context=None)

# Names of the ClusterRoles, Roles and bindings every cluster has (kubectl get clusterroles).
BUILT_IN_RBAC_NAMES = [
    "system:node",
    "system:aggregate-to-view",
    "system:controller:deployment-controller",
    "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
    "system::leader-locking-kube-scheduler",
    "kubeadm:get-nodes",
    "cluster-admin",
]


@pytest.mark.parametrize("name", BUILT_IN_RBAC_NAMES)
@pytest.mark.parametrize(
    "resource",
    [
        "clusterrole",
        "clusterroles",
        "roles",
        "rolebinding",
        "clusterroles.rbac.authorization.k8s.io",
    ],
)
def test_rbac_objects_are_read_by_their_real_names(resource: str, name: str) -> None:
    params = TOOLS["k8s_get"].parse({"resource": resource, "name": name})
    assert reads.k8s_get(params, TARGET)[-2:] == [resource, name]
    ref = TOOLS["k8s_describe"].parse({"resource": f"{resource}/{name}"})
    assert reads.k8s_describe(ref, TARGET)[-1] == f"{resource}/{name}"


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("k8s_get", {"resource": "pods", "name": "system:node"}),
        ("k8s_get", {"resource": "pod/system:node"}),
        ("k8s_get", {"resource": "roles.example.com", "name": "a:b"}),
        ("k8s_describe", {"resource": "configmaps", "name": "Web"}),
        ("k8s_delete", {"resource": "deployment/a@b"}),
        ("k8s_label", {"resource": "serviceaccount/x:y", "labels": {"a": "b"}}),
        ("k8s_events", {"for_object": "pod/system:x"}),
        ("k8s_logs", {"pod": "deployment/a:b"}),
    ],
)
def test_other_kinds_keep_dns_names(tool: str, args: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="DNS-1123 subdomain"):
        TOOLS[tool].parse(args)


@pytest.mark.parametrize("name", ["system:node;id", "a b", "-system", "system:..", "x/y", "é:x"])
def test_rbac_names_still_refuse_what_no_name_holds(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TOOLS["k8s_get"].parse({"resource": "clusterrole", "name": name})
    assert caught.value.errors()[0]["loc"] == ("name",)


def test_mutations_name_rbac_objects_too() -> None:
    TOOLS["k8s_delete"].parse({"resource": "clusterrolebinding/system:kube-dns"})
    TOOLS["k8s_label"].parse(
        {"resource": "clusterrole", "name": "system:aggregate-to-view", "labels": {"team": "a"}}
    )


def _manifest(api_version: str, kind: str, name: str) -> str:
    return f"apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: '{name}'\nrules: []\n"


def test_an_rbac_manifest_with_a_system_name_is_accepted() -> None:
    text = _manifest("rbac.authorization.k8s.io/v1", "ClusterRole", "system:aggregate-to-view")
    assert manifests.parse_objects(text)[0]["metadata"]["name"] == "system:aggregate-to-view"
    TOOLS["k8s_apply"].parse({"manifest": text})


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [("v1", "ConfigMap"), ("example.com/v1", "ClusterRole"), ("v1", "ServiceAccount")],
)
def test_other_manifests_keep_dns_names(api_version: str, kind: str) -> None:
    with pytest.raises(ValueError, match=r"valid 'metadata\.name'"):
        manifests.parse_objects(_manifest(api_version, kind, "system:x"))
