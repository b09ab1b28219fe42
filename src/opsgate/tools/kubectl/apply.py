"""`k8s_apply` all or nothing: every document is validated by the server before any is applied,
and the preview reports document by document.

Used by `mutations.py` for the `k8s_apply` tool. kubectl applies a multi-document manifest one
object at a time and goes on past a failing one, so an approved manifest with one bad document
would be half applied. `AllOrNothing` first runs the whole manifest as one `--dry-run=server`
apply and applies nothing unless it succeeds; `preview_documents` diffs each document alone,
so the card shows which one would change, stay as it is, or fail.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import yaml

from opsgate.tools.base import DocumentPreview, PreviewReport, PreviewState, ToolEnv, ToolOutput
from opsgate.tools.command import Argv, Target, run_argv
from opsgate.tools.kubectl import manifests, previews
from opsgate.tools.kubectl import params as p

PARALLEL_DIFFS = 4
"""How many documents are diffed at once (each is one kubectl process)."""


def _document_name(obj: dict[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


async def _diff_one(
    env: ToolEnv, argv: list[str], index: int, obj: dict[str, Any], limit: asyncio.Semaphore
) -> tuple[DocumentPreview, str]:
    async with limit:
        result = await run_argv(
            env, argv, stdin=yaml.safe_dump(obj, sort_keys=False), ok_exit_codes=(0, 1)
        )
    state: PreviewState = "failed" if not result.ok else previews.changes(result.exit_code == 1)
    document = DocumentPreview(index=index, name=_document_name(obj), state=state)
    return document, result.text


async def preview_documents(params: p.ApplyParams, env: ToolEnv) -> ToolOutput:
    """Preview of `k8s_apply`: a server-side diff of each document on its own; any document that
    fails makes the whole preview `failed` (the apply would then change nothing)."""
    argv = previews.diff_argv(params, Target.of(env, "kubectl", params.context))
    limit = asyncio.Semaphore(PARALLEL_DIFFS)
    objects = manifests.parse_objects(params.manifest)
    found = await asyncio.gather(
        *(_diff_one(env, argv, index, obj, limit) for index, obj in enumerate(objects, start=1))
    )
    documents = [document for document, _ in found]
    states = {document.state for document in documents}
    state: PreviewState = (
        "failed" if "failed" in states else "changes" if "changes" in states else "no_change"
    )
    parts = []
    for document, text in found:
        parts.append(f"== document {document.index}: {document.name} ({document.state})")
        if text:
            parts.append(text)
    if state == "failed":
        parts.append("a document failed its dry run: applying this manifest would apply nothing")
    report = PreviewReport(state=state, documents=documents)
    return ToolOutput(ok=state != "failed", text="\n".join(parts), data=report)


@dataclass(frozen=True)
class AllOrNothing(Argv):
    """`Argv` of an apply that runs only if a server-side dry run of the whole manifest
    succeeds; otherwise nothing is applied and the failing documents are named."""

    async def run(self, params: Any, env: ToolEnv) -> ToolOutput:
        dry = await run_argv(
            env,
            previews.dry_run_argv(self.argv(params, env)),
            stdin=params.manifest,
            timeout_s=env.command_timeout_s,
        )
        if dry.ok:
            return await super().run(params, env)
        checked = await preview_documents(params, env)
        report = checked.data
        failing = (
            [d for d in report.documents if d.state == "failed"]
            if isinstance(report, PreviewReport)
            else []
        )
        named = ", ".join(f"document {d.index} ({d.name})" for d in failing) or "a document"
        text = (
            f"nothing was applied: the server-side dry run of the whole manifest failed "
            f"at {named}\n{dry.text}"
        )
        return ToolOutput(
            ok=False,
            text=text,
            exit_code=dry.exit_code,
            duration_ms=dry.duration_ms,
            command=dry.command,
        )
