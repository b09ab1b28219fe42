"""How tool outcomes and refusals look on the MCP wire.

Used by `opsgate.mcp.server` to build results and by `opsgate.mcp.client` to read them back,
so both sides agree on one structured shape: `ok`, `truncated`, `duration_ms`, `data`, plus
`exit_code` and `command` when there is one, and `error` (a code from `opsgate.errors`) on
refusals. Nothing is sent as null where the output schema names a type.
"""

from __future__ import annotations

from typing import Any

from fastmcp.tools.base import ToolResult
from mcp_types import TextContent
from pydantic import ValidationError

from opsgate.errors import OpsgateError
from opsgate.tools.base import ToolOutput


def from_output(output: ToolOutput) -> ToolResult:
    """The MCP result of a tool that ran: its text plus the structured fields."""
    structured: dict[str, Any] = {
        "ok": output.ok,
        "truncated": output.truncated,
        "duration_ms": output.duration_ms,
        "data": output.data,
    }
    if output.exit_code is not None:
        structured["exit_code"] = output.exit_code
    if output.command is not None:
        structured["command"] = output.command
    return ToolResult(
        content=[TextContent(type="text", text=output.text)],
        structured_content=structured,
        is_error=not output.ok,
    )


def refusal(code: str, message: str) -> ToolResult:
    """An error result for a call that did not run (bad arguments, no approval...)."""
    structured: dict[str, Any] = {
        "ok": False,
        "truncated": False,
        "duration_ms": 0,
        "data": None,
        "error": code,
    }
    return ToolResult(
        content=[TextContent(type="text", text=message)],
        structured_content=structured,
        is_error=True,
    )


def from_error(error: OpsgateError) -> ToolResult:
    return refusal(error.code, str(error))


def describe_invalid(tool: str, error: ValidationError) -> str:
    """Name every offending parameter; never echo the rejected values back."""
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        location = ".".join(str(part) for part in item["loc"]) or "(arguments)"
        problems.append(f"{location}: {item['msg']}")
    return f"invalid arguments for {tool!r}: " + "; ".join(problems)


def from_validation_error(tool: str, error: ValidationError) -> ToolResult:
    return refusal("invalid_input", describe_invalid(tool, error))
