"""Who a call acts as on the cluster: opsgate's own identity, or a person by impersonation.

The setting `cluster_identity` maps a context to `service` (opsgate's kubeconfig identity,
the default) or `impersonate`. Under `impersonate` the engine's call runner names the person
(`ActingAs`: reads as the requester, approved changes as the approver who completed the
approval), sends it to the tool server in the MCP request's `_meta` (never in arguments the
model fills), and the tool server adds kubectl's `--as`/`--as-group` (helm's
`--kube-as-user`/`--kube-as-group`) to the argv, so the cluster's RBAC decides and the
cluster's audit log names the person. The tool server refuses a call for an impersonating
context that names nobody: it never falls back to its own identity.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

IdentityMode = Literal["service", "impersonate"]

ACTING_AS_META_KEY = "opsgate/acting_as"
"""Where the engine puts `ActingAs` (as JSON) in an MCP request's `_meta`."""

# What Kubernetes accepts as a user or group name is nearly anything; what opsgate passes on
# is printable, space-free ASCII without ',' (kubectl reads groups from one flag each, but a
# comma-joined header value would split on the API server) and never starting with '-'.
_NAME = r"[A-Za-z0-9_.@:/+=][A-Za-z0-9_.@:/+=-]{0,252}"
Subject = Annotated[str, StringConstraints(pattern=rf"^{_NAME}$")]


class ActingAs(BaseModel):
    """The person a call acts as, and the groups the cluster sees them in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user: Subject
    groups: tuple[Subject, ...] = Field(default=(), max_length=100)

    @property
    def text(self) -> str:
        """`alice (groups: dev, ops)`, as the call record and the card show it."""
        if not self.groups:
            return f"{self.user} (no groups)"
        return f"{self.user} (groups: {', '.join(self.groups)})"


def mode_of(modes: Mapping[str, IdentityMode], context: str | None) -> IdentityMode:
    """The identity a context's calls use (`service` unless the setting says otherwise)."""
    return modes.get(context, "service") if context is not None else "service"
