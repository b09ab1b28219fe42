"""The sandbox API server's failures, answered as `Status` objects with the real reasons.

Raised by `cluster`, admission (`admission`, `validation`, `rbac`, `crds`) and the HTTP layer;
`http.api` turns each into its JSON answer.
"""

from __future__ import annotations

from typing import Any

from opsgate.sandbox.apiserver.store import Obj


class ApiError(Exception):
    """A failure answered as a `Status` object (reason and HTTP code as Kubernetes uses them)."""

    def __init__(self, code: int, reason: str, message: str, details: Obj | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> Obj:
        """The `Status` body of this error."""
        body: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def qualified(group: str, kind: str) -> str:
    """`Deployment.apps` (or `Pod` in the core group), as messages name a kind."""
    return f"{kind}.{group}" if group else kind


def resource_name(plural: str, group: str) -> str:
    """`deployments.apps` (or `pods`), as NotFound and Forbidden messages name a resource."""
    return f"{plural}.{group}" if group else plural


def invalid(group: str, kind: str, name: str, causes: list[Any]) -> ApiError:
    """The 422 of a create or update whose fields fail validation."""
    lines = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
    joined = lines[0] if len(lines) == 1 else "[" + ", ".join(lines) + "]"
    return ApiError(
        422,
        "Invalid",
        f'{qualified(group, kind)} "{name}" is invalid: {joined}',
        {
            "name": name,
            "group": group,
            "kind": kind,
            "causes": [
                {"reason": c.reason, "message": c.message, "field": c.field} for c in causes
            ],
        },
    )


def forbidden(plural: str, group: str, name: str, why: str) -> ApiError:
    """A 403: `pods "web" is forbidden: <why>`."""
    what = resource_name(plural, group)
    subject = f'{what} "{name}"' if name else what
    details: Obj = {"kind": plural}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    return ApiError(403, "Forbidden", f"{subject} is forbidden: {why}", details)
