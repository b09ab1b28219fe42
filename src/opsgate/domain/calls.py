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
