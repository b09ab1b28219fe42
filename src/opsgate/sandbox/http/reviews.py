"""Answers of the computed `authorization.k8s.io` and `authentication.k8s.io` groups.

Called by `subresources.virtual` for a POST of a review: `kubectl auth can-i`
(SelfSubjectAccessReview), `kubectl auth can-i --list` (SelfSubjectRulesReview), `kubectl auth
whoami` (SelfSubjectReview), the SubjectAccessReviews an admin asks about someone else, and
TokenReviews of the tokens this server issued.
Each is answered by `apiserver.rbac` for the user the request acts as (`--as` included).
"""

from __future__ import annotations

from typing import Any

from opsgate.sandbox.apiserver import authn, rbac
from opsgate.sandbox.apiserver.cluster import Cluster
from opsgate.sandbox.apiserver.errors import ApiError
from opsgate.sandbox.apiserver.store import Obj, Store

_BASIC = [
    {"verbs": ["create"], "apiGroups": [group], "resources": [resource]}
    for group, resource in rbac.SELF_REVIEWS
]


def _access(store: Store, user: rbac.User, spec: Obj, namespace: str) -> Obj:
    attributes = spec.get("resourceAttributes")
    if attributes is None:
        url = spec.get("nonResourceAttributes") or {}
        path, verb = str(url.get("path", "")), str(url.get("verb", ""))
        return {"allowed": rbac.decide_path(store, user, path, verb)}
    attrs = rbac.Attributes(
        str(attributes.get("verb", "")),
        str(attributes.get("group", "")),
        str(attributes.get("resource", "")),
        str(attributes.get("subresource", "")),
        str(attributes.get("namespace", namespace) or ""),
        str(attributes.get("name", "")),
    )
    allowed, reason = rbac.decide(store, user, attrs)
    status: Obj = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    return status


def _rules(store: Store, user: rbac.User, namespace: str) -> Obj:
    resource_rules: list[Obj] = list(_BASIC)
    non_resource: list[Obj] = []
    for grant in rbac.grants(store, user, namespace):
        rule = {k: v for k, v in grant.rule.items() if v}
        if rule.get("nonResourceURLs"):
            non_resource.append(rule)
        else:
            resource_rules.append(rule)
    return {"resourceRules": resource_rules, "nonResourceRules": non_resource, "incomplete": False}


def _token(cluster: Cluster, token: str) -> Obj:
    try:
        user = authn.from_token(cluster.store, cluster.token_key, token)
    except ApiError:
        return {"authenticated": False, "error": "invalid bearer token"}
    info = {"username": user.name, "uid": user.uid, "groups": list(user.groups)}
    return {"authenticated": True, "user": info, "audiences": [authn.ISSUER]}


def answer(cluster: Cluster, user: rbac.User, kind: str, namespace: str, body: Obj) -> Obj:
    """The review as the API server returns it, `status` filled in."""
    store = cluster.store
    spec: Obj = body.get("spec") or {}
    status: Any
    if kind == "TokenReview":
        status = _token(cluster, str(spec.get("token", "")))
    elif kind == "SelfSubjectReview":
        info = {"username": user.name, "groups": list(user.groups)}
        if user.uid:
            info["uid"] = user.uid
        status = {"userInfo": info}
    elif kind == "SelfSubjectRulesReview":
        status = _rules(store, user, str(spec.get("namespace", "")))
    elif kind in ("SubjectAccessReview", "LocalSubjectAccessReview"):
        subject = rbac.User(str(spec.get("user", "")), tuple(spec.get("groups") or ()))
        status = _access(store, subject, spec, namespace)
    else:
        status = _access(store, user, spec, namespace)
    group = "authentication.k8s.io" if kind == "SelfSubjectReview" else "authorization.k8s.io"
    return {
        "kind": kind,
        "apiVersion": f"{group}/v1",
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": status,
    }
