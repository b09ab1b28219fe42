"""The demo world of the sandbox (`--seed demo`) and the minimal cluster of `--seed empty`.

Called by `server` at start. Namespace `shop`: `frontend` healthy (3 replicas), `api` in
CrashLoopBackOff (its logs name the missing DATABASE_URL), `worker` stuck on a bad image tag
(revision 2 never pulls; revision 1 keeps serving), the Rollout `checkout` paused mid-canary,
the Helm release `cache` (see `helm_release`), and the Secret `payment-gateway` whose values
must never appear in any opsgate output.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from opsgate.sandbox.apiserver.cluster import Cluster
from opsgate.sandbox.containers import states

Seed = Literal["demo", "empty"]
SECRET_VALUES = {
    "api-key": "sk_live_SANDBOX_NEVER_SHOW_7f3a9c",
    "db-password": "hunter2-SANDBOX-NEVER-SHOW",
}
"""Plain values of the demo Secret; tests assert they never leak."""


def _node(name: str, index: int, role: str | None) -> dict[str, Any]:
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
    }
    if role:
        labels[f"node-role.kubernetes.io/{role}"] = ""
    taints = []
    if role == "control-plane":
        taints = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
    capacity = {
        "cpu": "4",
        "memory": "16318704Ki",
        "pods": "110",
        "ephemeral-storage": "102626232Ki",
    }
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {"podCIDR": f"10.244.{index}.0/24", "taints": taints},
        "status": {
            "capacity": capacity,
            "allocatable": {**capacity, "cpu": "3800m", "memory": "15806704Ki"},
            "conditions": [
                {
                    "type": "MemoryPressure",
                    "status": "False",
                    "reason": "KubeletHasSufficientMemory",
                },
                {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure"},
                {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID"},
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                },
            ],
            "addresses": [
                {"type": "InternalIP", "address": f"172.18.0.{index + 2}"},
                {"type": "Hostname", "address": name},
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.35.0",
                "kubeProxyVersion": "v1.35.0",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "kernelVersion": "6.1.0-sandbox",
                "containerRuntimeVersion": "containerd://2.1.0",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


STANDARD_CLASS: dict[str, Any] = {
    "apiVersion": "storage.k8s.io/v1",
    "kind": "StorageClass",
    "metadata": {
        "name": "standard",
        "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
    },
    "provisioner": "rancher.io/local-path",
    "reclaimPolicy": "Delete",
    # kind's class waits for the first consumer; it does not expand, ours does, so that
    # resize tasks work without a second class.
    "volumeBindingMode": "WaitForFirstConsumer",
    "allowVolumeExpansion": True,
}
"""The default StorageClass, as kind ships it (`standard`, local-path provisioner)."""


_READ = ["get", "list", "watch"]
_WRITE = ["create", "delete", "deletecollection", "patch", "update"]
_NAMESPACED = {
    "": [
        "pods",
        "pods/log",
        "pods/status",
        "services",
        "endpoints",
        "configmaps",
        "persistentvolumeclaims",
        "replicationcontrollers",
        "events",
        "serviceaccounts",
        "resourcequotas",
        "limitranges",
    ],
    "apps": ["deployments", "deployments/scale", "replicasets", "statefulsets", "daemonsets"],
    "batch": ["jobs", "cronjobs"],
    "autoscaling": ["horizontalpodautoscalers"],
    "networking.k8s.io": ["ingresses", "networkpolicies"],
    "policy": ["poddisruptionbudgets"],
    "discovery.k8s.io": ["endpointslices"],
}


def _role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    labels = {"kubernetes.io/bootstrapping": "rbac-defaults"}
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": labels},
        "rules": rules,
    }


def default_roles() -> list[dict[str, Any]]:
    """The user-facing ClusterRoles every cluster has (rules abridged to the kinds served),
    and the binding that makes `system:masters` cluster admins."""
    view = [{"apiGroups": [g], "resources": r, "verbs": _READ} for g, r in _NAMESPACED.items()]
    view.append({"apiGroups": [""], "resources": ["namespaces"], "verbs": _READ})
    edit = [
        *view,
        *({"apiGroups": [g], "resources": r, "verbs": _WRITE} for g, r in _NAMESPACED.items()),
        {"apiGroups": [""], "resources": ["secrets"], "verbs": [*_READ, *_WRITE]},
        {
            "apiGroups": [""],
            "resources": ["pods/exec", "pods/attach", "pods/portforward"],
            "verbs": ["create", "get"],
        },
    ]
    rbac_kinds = {
        "apiGroups": ["rbac.authorization.k8s.io"],
        "resources": ["roles", "rolebindings"],
        "verbs": [*_READ, *_WRITE],
    }
    everything = [
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
        {"nonResourceURLs": ["*"], "verbs": ["*"]},
    ]
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {
            "name": "cluster-admin",
            "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
        },
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "cluster-admin",
        },
        "subjects": [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}
        ],
    }
    return [
        _role("cluster-admin", everything),
        _role("admin", [*edit, rbac_kinds]),
        _role("edit", edit),
        _role("view", view),
        binding,
    ]


def _namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def deployment(
    name: str, image: str, replicas: int, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    """A Deployment in `shop` with one container and the usual labels."""
    labels = {"app": name, "app.kubernetes.io/part-of": "shop"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop", "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": labels, "annotations": annotations or {}},
                "spec": {
                    "containers": [
                        {"name": name, "image": image, "ports": [{"containerPort": 8080}]}
                    ]
                },
            },
        },
    }


def _service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "shop", "labels": {"app": name}},
        "spec": {
            "selector": {"app": name},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
        },
    }


def _api_service() -> list[dict[str, Any]]:
    """`default/kubernetes`, the API server's Service every cluster has (a kind cluster's
    address: the control plane's InternalIP, port 6443), so `nslookup kubernetes.default`
    resolves in pods as it does on a real cluster."""
    meta = {"name": "kubernetes", "namespace": "default"}
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                **meta,
                "labels": {"component": "apiserver", "provider": "kubernetes"},
            },
            "spec": {
                "clusterIP": "10.96.0.1",
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {**meta, "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [
                {
                    "addresses": [{"ip": "172.18.0.2"}],
                    "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
                }
            ],
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {**meta, "labels": {"kubernetes.io/service-name": "kubernetes"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["172.18.0.2"], "conditions": {"ready": True}}],
            "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
        },
    ]


def base(cluster: Cluster) -> None:
    """Nodes, the system namespaces and the API server's Service every seed has."""
    cluster.apply_many(
        [
            _node("sandbox-control-plane", 0, "control-plane"),
            _node("sandbox-worker-1", 1, None),
            _node("sandbox-worker-2", 2, None),
        ]
    )
    cluster.apply_many(
        [_namespace(n) for n in ("default", "kube-system", "kube-public", "kube-node-lease")]
    )
    cluster.apply_many([STANDARD_CLASS, *default_roles()])
    cluster.apply_many(_api_service())


def demo(cluster: Cluster) -> None:
    """The shop world of issue 3 (the Rollout and the Helm release are added by their modules)."""
    cluster.apply_many([_namespace("shop")])
    crash = {states.BEHAVIOR_ANNOTATION: "CrashLoopBackOff"}
    cluster.apply_many(
        [
            deployment("frontend", "ghcr.io/opsgate-demo/frontend:1.8.2", 3),
            deployment("api", "ghcr.io/opsgate-demo/api:2.3.1", 2, crash),
            deployment("worker", "ghcr.io/opsgate-demo/worker:1.4.0", 2),
            _service("frontend"),
            _service("api"),
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "shop-config", "namespace": "shop"},
                "data": {"LOG_LEVEL": "info", "FEATURE_FLAGS": "new-checkout"},
            },
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "payment-gateway", "namespace": "shop"},
                "type": "Opaque",
                "stringData": dict(SECRET_VALUES),
            },
        ]
    )
    res = cluster.catalog.by_kind("apps/v1", "Deployment")
    assert res is not None
    worker = cluster.get(res, "shop", "worker")
    worker["spec"]["template"]["spec"]["containers"][0]["image"] = (
        "ghcr.io/opsgate-demo/worker:1.5.0-bad"
    )
    cluster.update(res, "shop", "worker", worker)


def backdate(cluster: Cluster, hours: float = 2.0) -> None:
    """Make the seeded world look lived-in: objects and events dated `hours` ago, one second apart.

    Distinct times also keep `describe` and `kubectl events` listing events in the order they
    happened. Creation, event, condition and container times move; called once before serving,
    whose first pass lets the kubelet catch up (back-offs, restarts) on those two hours.
    """
    start = datetime.now(UTC) - timedelta(hours=hours)
    for index, (_, obj) in enumerate(cluster.store.all_objects()):
        stamp = (start + timedelta(seconds=index)).strftime("%Y-%m-%dT%H:%M:%SZ")
        obj["metadata"]["creationTimestamp"] = stamp
        if obj.get("kind") == "Event":
            obj["firstTimestamp"] = obj["lastTimestamp"] = stamp
        elif obj.get("kind") == "Pod" and "startTime" in obj.get("status", {}):
            obj["status"]["startTime"] = stamp
            for container in obj["status"].get("containerStatuses", []):
                for state in (container.get("state", {}), container.get("lastState", {})):
                    for moment in state.values():
                        moment.update(
                            {k: stamp for k in ("startedAt", "finishedAt") if k in moment}
                        )
        for condition in obj.get("status", {}).get("conditions") or []:
            for field in ("lastUpdateTime", "lastTransitionTime"):
                if field in condition:
                    condition[field] = stamp


def apply_seed(cluster: Cluster, seed: Seed) -> None:
    """Build the chosen world."""
    base(cluster)
    if seed == "demo":
        demo(cluster)
