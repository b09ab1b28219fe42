"""The namespace controllers: what every namespace gets, and how a deleted one goes.

Registered in `loop.CONTROLLERS`. An active namespace gets its `default` ServiceAccount (the
serviceaccount controller) and the `kube-root-ca.crt` ConfigMap (the root CA publisher), which
pods mount with their token. A namespace marked for deletion is `Terminating`: its contents are
deleted (those with finalizers stay, marked, until their finalizers are cleared), its
conditions say what remains, and once it is empty the `kubernetes` finalizer goes and so does
the namespace.
"""

from __future__ import annotations

from collections import Counter

from opsgate.sandbox.apiserver.store import Obj, Store, clone, now_iso
from opsgate.sandbox.controllers import garbage
from opsgate.sandbox.controllers.owners import save_if_changed

ROOT_CA = "kube-root-ca.crt"
CA_PEM = (
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhrM3Mtc2Fu\n"
    "ZGJveC1jYUBvcHNnYXRlLWRldjAeFw0yNjAxMDEwMDAwMDBaFw0zNjAxMDEwMDAw\n"
    "MDBaMCMxITAfBgNVBAMMGGszcy1zYW5kYm94LWNhQG9wc2dhdGUtZGV2MFkwEwYH\n"
    "KoZIzj0CAQYIKoZIzj0DAQcDQgAEsandboxsandboxsandboxsandboxsandboxsa\n"
    "-----END CERTIFICATE-----\n"
)
"""A placeholder CA certificate: the sandbox serves plain HTTP and signs nothing with it."""


def _provision(store: Store, namespace: str) -> bool:
    changed = False
    if store.peek("serviceaccounts", namespace, "default") is None:
        store.put(
            "serviceaccounts",
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": namespace},
            },
        )
        changed = True
    if store.peek("configmaps", namespace, ROOT_CA) is None:
        store.put(
            "configmaps",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": ROOT_CA,
                    "namespace": namespace,
                    "annotations": {
                        "kubernetes.io/description": "Contains a CA bundle that can be used to "
                        "verify the kube-apiserver when using internal endpoints such as the "
                        "internal service IP or kubernetes.default.svc. No other usage is "
                        "guaranteed across distributions of Kubernetes clusters."
                    },
                },
                "data": {"ca.crt": CA_PEM},
            },
        )
        changed = True
    return changed


def _contents(store: Store, namespace: str) -> list[tuple[str, Obj]]:
    return [
        (key, obj)
        for key, obj in store.all_objects()
        if obj["metadata"].get("namespace") == namespace
        and key not in ("events", "events.events.k8s.io")
    ]


def _condition(kind: str, flag: bool, reason: str, message: str, now: str) -> Obj:
    return {
        "type": kind,
        "status": "True" if flag else "False",
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    }


def _terminate(store: Store, ns: Obj) -> bool:
    name = ns["metadata"]["name"]
    changed = False
    for key, obj in _contents(store, name):
        if not obj["metadata"].get("deletionTimestamp"):
            garbage.remove(store, key, obj)
            changed = True
    remaining = _contents(store, name)
    if not remaining:
        for key, event in [(k, o) for k, o in store.all_objects() if k == "events"]:
            if event["metadata"].get("namespace") == name:
                store.delete(key, name, event["metadata"]["name"])
                changed = True
        fresh = store.get("namespaces", "", name)
        if fresh is not None and (fresh.get("spec") or {}).get("finalizers"):
            fresh["spec"]["finalizers"] = []
            fresh = store.put("namespaces", fresh)
            changed = True
        if fresh is not None:
            changed |= garbage.finished(store, "namespaces", fresh)
        return changed
    counts = Counter(key for key, _ in remaining)
    finalizers = Counter(f for _, obj in remaining for f in obj["metadata"].get("finalizers") or [])
    now = now_iso()
    content = ", ".join(
        f"{key} has {count} resource instances" for key, count in sorted(counts.items())
    )
    held = ", ".join(
        f"{f} in {count} resource instances" for f, count in sorted(finalizers.items())
    )
    conditions = [
        _condition(
            "NamespaceDeletionDiscoveryFailure",
            False,
            "ResourcesDiscovered",
            "All resources successfully discovered",
            now,
        ),
        _condition(
            "NamespaceDeletionGroupVersionParsingFailure",
            False,
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed",
            now,
        ),
        _condition(
            "NamespaceDeletionContentFailure",
            False,
            "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization",
            now,
        ),
        _condition(
            "NamespaceContentRemaining",
            True,
            "SomeResourcesRemain",
            f"Some resources are remaining: {content}",
            now,
        ),
        _condition(
            "NamespaceFinalizersRemaining",
            bool(finalizers),
            "SomeFinalizersRemain" if finalizers else "ContentHasNoFinalizers",
            f"Some content in the namespace has finalizers remaining: {held}"
            if finalizers
            else "All content-preserving finalizers finished",
            now,
        ),
    ]
    fresh = store.get("namespaces", "", name)
    if fresh is None:
        return changed
    old = (fresh.get("status") or {}).get("conditions") or []
    if [(c["type"], c["status"], c["message"]) for c in old] == [
        (c["type"], c["status"], c["message"]) for c in conditions
    ]:
        return changed
    after = clone(fresh)
    after["status"] = {"phase": "Terminating", "conditions": conditions}
    return save_if_changed(store, "namespaces", fresh, after) or changed


def reconcile(store: Store) -> bool:
    """Provision active namespaces and empty terminating ones; True when anything changed."""
    changed = False
    for ns in list(store.scan("namespaces")):
        if ns["metadata"].get("deletionTimestamp"):
            changed |= _terminate(store, ns)
        else:
            changed |= _provision(store, ns["metadata"]["name"])
    return changed
