"""The typed fields of built-in kinds that charts get wrong, checked as the real server does.

Called by `cluster` before defaulting a built-in object. The sandbox does not carry the
built-in kinds' whole schemas; it checks the fields security settings live in, where a wrong
value must not be taken quietly: booleans (a string `"true"` is refused as Go's JSON decoder
refuses it, 400), `securityContext` field names under `fieldValidation=Strict` (kubectl's
default), Secret `data` that is not base64, and the enums `seccompProfile.type` and a
NetworkPolicy's `policyTypes` (422 `Unsupported value`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Any

from opsgate.sandbox.apiserver.errors import ApiError
from opsgate.sandbox.apiserver.errors import invalid as invalid_error
from opsgate.sandbox.apiserver.resources import Resource
from opsgate.sandbox.apiserver.store import Obj
from opsgate.sandbox.kinds.base import Cause, go_quote

POD_SPEC_AT: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
"""Where each workload kind keeps its pod spec."""

CONTAINER_CONTEXT = {
    "capabilities": None,
    "privileged": "bool",
    "seLinuxOptions": None,
    "windowsOptions": None,
    "runAsUser": "int64",
    "runAsGroup": "int64",
    "runAsNonRoot": "bool",
    "readOnlyRootFilesystem": "bool",
    "allowPrivilegeEscalation": "bool",
    "procMount": "string",
    "seccompProfile": None,
    "appArmorProfile": None,
}
"""corev1.SecurityContext's fields, and the Go type of those that are scalars."""
POD_CONTEXT = {
    "seLinuxOptions": None,
    "windowsOptions": None,
    "runAsUser": "int64",
    "runAsGroup": "int64",
    "runAsNonRoot": "bool",
    "supplementalGroups": None,
    "supplementalGroupsPolicy": "string",
    "fsGroup": "int64",
    "sysctls": None,
    "fsGroupChangePolicy": "string",
    "seccompProfile": None,
    "appArmorProfile": None,
    "seLinuxChangePolicy": "string",
}
"""corev1.PodSecurityContext's fields."""
SECCOMP_TYPES = ("Localhost", "RuntimeDefault", "Unconfined")
POLICY_TYPES = ("Ingress", "Egress")


def _go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (int, float)):
        return "number"
    return "array" if isinstance(value, list) else "object"


def _fits(value: Any, go_type: str) -> bool:
    if value is None:
        return True
    if go_type == "bool":
        return isinstance(value, bool)
    if go_type == "int64":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


class _Check:
    """The errors found walking one object: decoding (400) first, then field values (422)."""

    def __init__(self, kind: str, version: str, strict: bool) -> None:
        self.kind, self.version, self.strict = kind, version, strict
        self.unknown: list[str] = []
        self.causes: list[Cause] = []

    def decode_error(self, what: str) -> ApiError:
        return ApiError(
            400,
            "BadRequest",
            f'{self.kind} in version "{self.version}" cannot be handled as a {self.kind}: {what}',
        )

    def scalar(self, struct: str, path: str, value: Any, go_type: str) -> None:
        if not _fits(value, go_type):
            raise self.decode_error(
                f"json: cannot unmarshal {_go_type(value)} into Go struct field "
                f"{struct}.{path} of type {go_type}"
            )

    def context(
        self, struct: str, fields: dict[str, str | None], ctx: Any, at: str, shown: str
    ) -> None:
        """One securityContext: `at` is its path with list indices (unknown-field messages),
        `shown` without them (Go's decoder names struct fields that way)."""
        if not isinstance(ctx, dict):
            return
        for name, value in ctx.items():
            if name not in fields:
                self.unknown.append(f"{at}.{name}")
                continue
            go_type = fields[name]
            if go_type is not None:
                self.scalar(struct, f"{shown}.{name}", value, go_type)
        profile = ctx.get("seccompProfile")
        if isinstance(profile, dict) and profile.get("type") not in (None, *SECCOMP_TYPES):
            self.causes.append(
                _unsupported(f"{at}.seccompProfile.type", profile["type"], SECCOMP_TYPES)
            )


def _unsupported(path: str, value: Any, allowed: tuple[str, ...]) -> Cause:
    supported = ", ".join(go_quote(v) for v in allowed)
    return Cause(
        path,
        "FieldValueNotSupported",
        f"Unsupported value: {go_quote(value)}: supported values: {supported}",
    )


def _containers(pod: Obj, at: str) -> Iterator[tuple[Any, str, str]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for index, container in enumerate(pod.get(key) or []):
            if isinstance(container, dict):
                yield container, f"{at}.{key}[{index}]", f"{at}.{key}"


def _pod(check: _Check, pod: Any, at: str) -> None:
    if not isinstance(pod, dict):
        return
    check.scalar(
        "PodSpec",
        f"{at}.automountServiceAccountToken",
        pod.get("automountServiceAccountToken"),
        "bool",
    )
    check.context(
        "PodSecurityContext",
        POD_CONTEXT,
        pod.get("securityContext"),
        f"{at}.securityContext",
        f"{at}.securityContext",
    )
    for container, indexed, shown in _containers(pod, at):
        check.context(
            "SecurityContext",
            CONTAINER_CONTEXT,
            container.get("securityContext"),
            f"{indexed}.securityContext",
            f"{shown}.securityContext",
        )


def check(res: Resource, obj: Obj, strict: bool) -> None:
    """Refuse `obj` as the real server would for the typed fields above."""
    if res.custom:
        return
    found = _Check(res.kind, res.version, strict)
    path = POD_SPEC_AT.get(res.kind)
    if path is not None:
        node: Any = obj
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        _pod(found, node, ".".join(path))
    if res.kind == "ServiceAccount":
        found.scalar(
            "ServiceAccount",
            "automountServiceAccountToken",
            obj.get("automountServiceAccountToken"),
            "bool",
        )
    if res.kind == "Secret" and res.group == "":
        for value in (obj.get("data") or {}).values():
            if isinstance(value, str):
                try:
                    base64.b64decode(value, validate=True)
                except binascii.Error:
                    raise found.decode_error(
                        f"illegal base64 data at input byte {_bad_byte(value)}"
                    ) from None
    if res.kind == "NetworkPolicy":
        for index, kind in enumerate((obj.get("spec") or {}).get("policyTypes") or []):
            if kind not in POLICY_TYPES:
                found.causes.append(_unsupported(f"spec.policyTypes[{index}]", kind, POLICY_TYPES))
    if found.strict and found.unknown:
        fields = ", ".join(f'unknown field "{field}"' for field in found.unknown)
        raise found.decode_error(f"strict decoding error: {fields}")
    if found.causes:
        name = str((obj.get("metadata") or {}).get("name", ""))
        raise invalid_error(res.group, res.kind, name, found.causes)


_B64 = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def _bad_byte(value: str) -> int:
    """Where Go's base64 decoder stops: the first byte outside the alphabet, else the end."""
    data = value.encode()
    stripped = data.rstrip(b"=")
    for index, byte in enumerate(stripped):
        if byte not in _B64:
            return index
    return len(stripped) - len(stripped) % 4
