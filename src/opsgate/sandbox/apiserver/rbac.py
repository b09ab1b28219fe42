"""The RBAC authorizer: may this user do this verb on this resource, by which binding?

Called by `http.api` before every resource request, and by `http.reviews` to answer
`kubectl auth can-i` (SelfSubjectAccessReview) and `--list` (SelfSubjectRulesReview). As in
kube-apiserver, members of `system:masters` may do anything; everyone authenticated may ask
about themselves (the `system:basic-user` rules); every other request needs a rule of a Role
bound in its namespace or of a ClusterRole bound anywhere that covers it. A denial is the
real 403 (`pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the
namespace "dev"`).
"""

from __future__ import annotations

from dataclasses import dataclass

from opsgate.sandbox.apiserver.errors import ApiError, forbidden
from opsgate.sandbox.apiserver.store import Obj, Store

MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
GROUP = "rbac.authorization.k8s.io"
SELF_REVIEWS: tuple[tuple[str, str], ...] = (
    ("authentication.k8s.io", "selfsubjectreviews"),
    ("authorization.k8s.io", "selfsubjectaccessreviews"),
    ("authorization.k8s.io", "selfsubjectrulesreviews"),
)
"""What `system:basic-user` lets every authenticated user create."""


@dataclass(frozen=True)
class User:
    """Who a request is from, as the authenticator (`authn`) found it."""

    name: str
    groups: tuple[str, ...] = (AUTHENTICATED,)
    uid: str = ""


ADMIN = User("kubernetes-admin", ("kubeadm:cluster-admins", MASTERS, AUTHENTICATED))
"""The sandbox kubeconfig's user (no credentials sent), as kind's admin."""


@dataclass(frozen=True)
class Attributes:
    """One request's authorization attributes."""

    verb: str
    group: str
    resource: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""


@dataclass(frozen=True)
class Grant:
    """A rule that applies to a user, and the binding that gives it."""

    rule: Obj
    via: str
    """`RoleBinding "ns/name" of Role "r" to User "jane"`, as the audit reason words it."""


def _covers(values: list[str] | None, wanted: str) -> bool:
    return values is not None and ("*" in values or wanted in values)


def _subject_matches(subject: Obj, user: User, namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return bool(name == user.name)
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or namespace
        return user.name == f"system:serviceaccount:{ns}:{name}"
    return False


def _subject_text(subject: Obj, namespace: str) -> str:
    if subject.get("kind") == "ServiceAccount":
        ns = subject.get("namespace") or namespace
        return f'ServiceAccount "{subject.get("name")}/{ns}"'
    return f'{subject.get("kind")} "{subject.get("name")}"'


def grants(store: Store, user: User, namespace: str) -> list[Grant]:
    """Every rule `user` holds in `namespace` ('' : cluster-wide ones only), with its binding."""
    bindings = [("ClusterRoleBinding", b) for b in store.scan("clusterrolebindings." + GROUP)]
    if namespace:
        bindings += [("RoleBinding", b) for b in store.scan("rolebindings." + GROUP, namespace)]
    found: list[Grant] = []
    for kind, binding in bindings:
        meta = binding["metadata"]
        ns = meta.get("namespace", "")
        subjects = [s for s in binding.get("subjects") or [] if _subject_matches(s, user, ns)]
        if not subjects:
            continue
        ref = binding.get("roleRef") or {}
        role_key, role_ns = (
            ("roles." + GROUP, ns) if ref.get("kind") == "Role" else ("clusterroles." + GROUP, "")
        )
        role = store.peek(role_key, role_ns, str(ref.get("name", "")))
        if role is None:
            continue
        name = f"{meta['name']}/{ns}" if ns else meta["name"]
        via = (
            f'{kind} "{name}" of {ref.get("kind")} "{ref.get("name")}" to '
            f"{_subject_text(subjects[0], ns)}"
        )
        found += [Grant(rule, via) for rule in role.get("rules") or []]
    return found


def _rule_allows(rule: Obj, attrs: Attributes) -> bool:
    if not _covers(rule.get("verbs"), attrs.verb):
        return False
    if not _covers(rule.get("apiGroups"), attrs.group):
        return False
    resources = rule.get("resources") or []
    wanted = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    star = f"*/{attrs.subresource}" if attrs.subresource else "*"
    if not (wanted in resources or star in resources or "*" in resources):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


def decide(store: Store, user: User, attrs: Attributes) -> tuple[bool, str]:
    """Whether the request is allowed, and the reason (the binding that allows it)."""
    if MASTERS in user.groups:
        return True, ""
    if attrs.verb == "create" and (attrs.group, attrs.resource) in SELF_REVIEWS:
        return True, 'RBAC: allowed by ClusterRoleBinding "system:basic-user"'
    for grant in grants(store, user, attrs.namespace):
        if _rule_allows(grant.rule, attrs):
            return True, f"RBAC: allowed by {grant.via}"
    return False, ""


def decide_path(store: Store, user: User, path: str, verb: str) -> bool:
    """Whether the user may use a non-resource URL (`/healthz`, `/metrics`)."""
    if MASTERS in user.groups:
        return True
    return any(
        _covers(g.rule.get("nonResourceURLs"), path) and _covers(g.rule.get("verbs"), verb)
        for g in grants(store, user, "")
    )


def denial(user: User, attrs: Attributes) -> ApiError:
    """The API server's 403 for a request RBAC does not allow."""
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    scope = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    why = (
        f'User "{user.name}" cannot {attrs.verb} resource "{resource}" in API group '
        f'"{attrs.group}" {scope}'
    )
    return forbidden(attrs.resource, attrs.group, attrs.name, why)


def authorize(store: Store, user: User, attrs: Attributes) -> None:
    """Raise the 403 unless RBAC allows the request."""
    allowed, _ = decide(store, user, attrs)
    if not allowed:
        raise denial(user, attrs)
