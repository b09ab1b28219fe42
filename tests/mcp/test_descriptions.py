"""A tool's description reaches the model through `tools/list` with its docstring's paragraphs."""

from __future__ import annotations

from fastmcp import Client
from tests.fixtures.mcp import APPROVAL_KEY, MemorySpentApprovals

from opsgate.domain.calls import ToolAnnotations
from opsgate.mcp.server import create_server
from opsgate.tools import define
from opsgate.tools.base import NamespacedParams, ToolEnv, ToolOutput

READ = ToolAnnotations(
    readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False
)


async def k8s_paragraphs(params: NamespacedParams, env: ToolEnv) -> ToolOutput:
    """List the widgets of a namespace, wrapped
    over two source lines.

    A second paragraph, also
    wrapped, says when to use it.
    """
    return ToolOutput(ok=True, text="")


async def test_a_multi_paragraph_docstring_keeps_its_paragraphs_in_the_listing(
    demo_env: ToolEnv,
) -> None:
    tool = define.define("kubectl", define.Function(k8s_paragraphs), NamespacedParams, READ)
    server = create_server(demo_env, {tool.name: tool}, APPROVAL_KEY, spent=MemorySpentApprovals())
    async with Client(server) as client:
        listed = {t.name: t for t in await client.list_tools()}
    assert listed["k8s_paragraphs"].description == (
        "List the widgets of a namespace, wrapped over two source lines.\n\n"
        "A second paragraph, also wrapped, says when to use it."
    )


def test_a_one_paragraph_docstring_is_one_line() -> None:
    async def k8s_wrapped(params: NamespacedParams, env: ToolEnv) -> ToolOutput:
        """Get one thing,
        wrapped in the source."""
        return ToolOutput(ok=True, text="")

    assert define.description_of(k8s_wrapped) == "Get one thing, wrapped in the source."
