"""Tool calls as the engine plans, classifies, gates and records them."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from opsgate.domain.canonical import call_hash

Family = Literal["kubectl", "helm", "argo", "jenkins"]
Classification = Literal["read", "mutation"]
CallStatus = Literal[
    "planned",
    "invalid",
    "awaiting_approval",
    "approved",
    "rejected",
    "expired",
    "running",
    "succeeded",
    "failed",
    "outcome_unknown",
    "refused",
    "verified",
    "verification_failed",
    "not_verified",
]
"""Where a call is; `domain.outcomes` draws the transitions and docs/outcomes.md the words."""


class ToolAnnotations(BaseModel):
    """The four MCP hints, named as MCP names them."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    read_only: bool = Field(alias="readOnlyHint")
    destructive: bool = Field(alias="destructiveHint")
    idempotent: bool = Field(alias="idempotentHint")
    open_world: bool = Field(alias="openWorldHint")

    def to_mcp(self) -> dict[str, bool]:
        return self.model_dump(by_alias=True)


CLUSTER_FAMILIES: frozenset[Family] = frozenset({"kubectl", "helm", "argo"})
"""Families whose `context` parameter names a kubeconfig context (Jenkins names a server)."""


class ToolSpec(BaseModel):
    """A tool as the engine knows it: from the tool server's MCP listing, nothing else.

    The engine plans, classifies and gates with this alone, so it works the same in front of
    an in-process tool server and one running apart.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    input_schema: dict[str, Any]
    annotations: ToolAnnotations
    """Missing hints are filled fail-closed: a mutation, destructive, open world."""
    family: Family | None = None

    def takes(self, parameter: str) -> bool:
        return parameter in self.input_schema.get("properties", {})

    @property
    def reaches_cluster(self) -> bool:
        """Whether calls go to the cluster a kubeconfig context names (its `context` param);
        approvals of its changes are bound to that cluster's identity."""
        return self.family in CLUSTER_FAMILIES and self.takes("context")


class CallCheck(BaseModel):
    """The tool server's verdict on one planned call's arguments (`opsgate_classify`)."""

    model_config = ConfigDict(frozen=True)

    valid: bool
    error: str | None = None
    """Why the arguments are refused, naming each parameter, never echoing a value."""
    read_only: bool = False
    """Whether this very call only reads (for most tools, its `readOnlyHint`)."""
    per_call: bool = False
    """The tool decides read or change per call (`k8s_exec`'s allowlist), not by annotation."""


class ToolCall(BaseModel):
    """One call of one tool with its arguments, as planned by the model or an operator."""

    model_config = ConfigDict(frozen=True)

    id: str
    tool: str
    args: dict[str, Any]
    context: str | None = None
    """The kubeconfig context the call runs against (filled by the engine, never the model)."""

    def hash(self, cluster: str | None = None) -> str:
        return call_hash(self.tool, self.args, self.context, cluster)


def output_digest(output: str) -> tuple[str, int]:
    """The SHA-256 (hex) and UTF-8 size of a call's recorded output, as the store keeps them."""
    encoded = output.encode("utf-8")
    return hashlib.sha256(encoded).hexdigest(), len(encoded)
