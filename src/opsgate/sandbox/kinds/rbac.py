"""`rbac.authorization.k8s.io`: Roles, ClusterRoles and their bindings (enforced by
`apiserver.rbac`)."""

from __future__ import annotations

from typing import Any

from opsgate.sandbox.apiserver.resources import Resource
from opsgate.sandbox.apiserver.store import Obj
from opsgate.sandbox.kinds.base import (
    Cause,
    Kind,
    age,
    created_at,
    invalid_text,
    required,
    unsupported,
)

GROUP = "rbac.authorization.k8s.io"
_S = "string"


def _binding_row(binding: Obj) -> list[Any]:
    ref = binding.get("roleRef") or {}
    subjects = binding.get("subjects") or []

    def named(kind: str) -> str:
        found = [
            (
                f"{s.get('namespace')}/{s.get('name')}"
                if kind == "ServiceAccount"
                else str(s.get("name"))
            )
            for s in subjects
            if s.get("kind") == kind
        ]
        return ", ".join(found)

    return [
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        age(binding),
        named("User"),
        named("Group"),
        named("ServiceAccount"),
    ]


def _binding_defaults(obj: Obj) -> None:
    for subject in obj.get("subjects") or []:
        if isinstance(subject, dict) and subject.get("kind") in ("User", "Group"):
            subject.setdefault("apiGroup", GROUP)


def _rule_causes(obj: Obj) -> list[Cause]:
    causes = []
    for index, rule in enumerate(obj.get("rules") or []):
        if not rule.get("verbs"):
            causes.append(
                required(f"rules[{index}].verbs", "verbs must contain at least one value")
            )
        if rule.get("nonResourceURLs"):
            if obj.get("kind") == "Role":
                causes.append(
                    invalid_text(
                        f"rules[{index}].nonResourceURLs",
                        str(rule["nonResourceURLs"]).replace("'", '"'),
                        "namespaced rules cannot apply to non-resource URLs",
                    )
                )
            continue
        if not rule.get("apiGroups"):
            causes.append(
                required(
                    f"rules[{index}].apiGroups", "resource rules must supply at least one api group"
                )
            )
        if not rule.get("resources"):
            causes.append(
                required(
                    f"rules[{index}].resources", "resource rules must supply at least one resource"
                )
            )
    return causes


def _role_validate(obj: Obj, old: Obj | None) -> list[Cause]:
    return _rule_causes(obj)


def _ref_text(ref: Obj) -> str:
    return (
        f'rbac.RoleRef{{APIGroup:"{ref.get("apiGroup", "")}", Kind:"{ref.get("kind", "")}", '
        f'Name:"{ref.get("name", "")}"}}'
    )


def _binding_validate(kinds: list[str]) -> Any:
    def check(obj: Obj, old: Obj | None) -> list[Cause]:
        causes: list[Cause] = []
        ref = obj.get("roleRef") or {}
        if not ref.get("name"):
            causes.append(required("roleRef.name"))
        if ref.get("kind") not in kinds:
            causes.append(unsupported("roleRef.kind", ref.get("kind", ""), kinds))
        if ref.get("apiGroup") != GROUP:
            causes.append(unsupported("roleRef.apiGroup", ref.get("apiGroup", ""), [GROUP]))
        for index, subject in enumerate(obj.get("subjects") or []):
            kind = subject.get("kind")
            if kind not in ("User", "Group", "ServiceAccount"):
                causes.append(
                    unsupported(
                        f"subjects[{index}].kind", kind, ["ServiceAccount", "User", "Group"]
                    )
                )
            if not subject.get("name"):
                causes.append(required(f"subjects[{index}].name"))
            if (
                kind == "ServiceAccount"
                and obj.get("kind") == "ClusterRoleBinding"
                and not subject.get("namespace")
            ):
                causes.append(required(f"subjects[{index}].namespace"))
        if old is not None and (old.get("roleRef") or {}) != ref:
            causes.append(invalid_text("roleRef", _ref_text(ref), "cannot change roleRef"))
        return causes

    return check


_R = Resource
_CREATED = (("Created At", "date", 0),)
_BINDING = (
    ("Role", _S, 0),
    ("Age", _S, 0),
    ("Users", _S, 1),
    ("Groups", _S, 1),
    ("ServiceAccounts", _S, 1),
)
KINDS: list[Kind] = [
    Kind(
        "Role",
        (_R(GROUP, "v1", "Role", "roles", True),),
        _CREATED,
        lambda o: [created_at(o)],
        validate=_role_validate,
        name_rule="rbac",
    ),
    Kind(
        "ClusterRole",
        (_R(GROUP, "v1", "ClusterRole", "clusterroles", False),),
        _CREATED,
        lambda o: [created_at(o)],
        validate=_role_validate,
        name_rule="rbac",
    ),
    Kind(
        "RoleBinding",
        (_R(GROUP, "v1", "RoleBinding", "rolebindings", True),),
        _BINDING,
        _binding_row,
        _binding_defaults,
        _binding_validate(["Role", "ClusterRole"]),
        name_rule="rbac",
    ),
    Kind(
        "ClusterRoleBinding",
        (_R(GROUP, "v1", "ClusterRoleBinding", "clusterrolebindings", False),),
        _BINDING,
        _binding_row,
        _binding_defaults,
        _binding_validate(["ClusterRole"]),
        name_rule="rbac",
    ),
]
