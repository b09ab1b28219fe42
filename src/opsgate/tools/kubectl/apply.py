"""`k8s_apply` all or nothing: every document is validated by the server before any is applied,
and the preview reports document by document.

Used by `mutations.py` for the `k8s_apply` tool. kubectl applies a multi-document manifest one
object at a time and goes on past a failing one, so an approved manifest with one bad document
would be half applied. `AllOrNothing` first runs the whole manifest as one `--dry-run=server`
apply and applies nothing unless it succeeds; `preview_documents` diffs each document alone,
so the card shows which one would change, stay as it is, or fail.

A card must stay readable with an 800 KB CRD in the manifest, and must show everything an
approver decides on for any ordinary one: each document's diff is read whole and shown whole
up to `WHOLE_DIFF_BYTES`; only a larger one is cut: a new object (a diff of additions only) to
its first lines, a change to `CHANGE_LINES` lines, and no line longer than `LINE_CHARS` (the
`last-applied-configuration` annotation is one line of the whole object). Each cut says so.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from opsgate.tools.base import DocumentPreview, PreviewReport, PreviewState, ToolEnv, ToolOutput
from opsgate.tools.command import (
    WHOLE_OUTPUT_BYTES,
    Argv,
    Target,
    capped,
    deadline,
    display,
    run_argv,
)
from opsgate.tools.kubectl import kustomize, manifests, previews
from opsgate.tools.kubectl import params as p

PARALLEL_DIFFS = 4
"""How many documents are diffed at once (each is one kubectl process)."""
WHOLE_DIFF_BYTES = 64 * 1024
"""A document's diff up to this size is shown whole: nothing of it is folded or cut."""
NEW_OBJECT_LINES = 40
"""How many lines of a new object's diff the card shows before collapsing the rest."""
CHANGE_LINES = 300
"""How many lines of a change's diff the card shows."""
LINE_CHARS = 240


def _line(line: str) -> str:
    if len(line) <= LINE_CHARS:
        return line
    return f"{line[:LINE_CHARS]}… ({len(line) - LINE_CHARS} more characters)"


def readable(diff: str) -> str:
    """One document's diff as the card shows it: whole up to `WHOLE_DIFF_BYTES`; beyond, a
    new object collapsed to its first lines, a change up to `CHANGE_LINES` lines, long lines
    cut; each cut says what it left out."""
    if len(diff.encode()) <= WHOLE_DIFF_BYTES:
        return diff
    lines = diff.splitlines()
    body = [line for line in lines if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    new = bool(body) and all(line.startswith("+") for line in body)
    keep = NEW_OBJECT_LINES if new else CHANGE_LINES
    shown = [_line(line) for line in lines[:keep]]
    if len(lines) > keep:
        what = "of the new object" if new else "of this document's diff"
        left = len(lines) - keep
        shown.append(f"… {left} more lines {what} collapsed ({len(diff.encode())} bytes in all)")
    return "\n".join(shown)


async def _diff_one(
    env: ToolEnv, argv: list[str], index: int, obj: dict[str, Any], limit: asyncio.Semaphore
) -> tuple[DocumentPreview, str]:
    async with limit:
        result = await run_argv(
            env,
            argv,
            # JSON: kubectl reads it as well as YAML, and writing it is 20x faster for big CRDs.
            stdin=json.dumps(obj, default=str),
            ok_exit_codes=(0, 1),
            stdout_cap_bytes=WHOLE_OUTPUT_BYTES,
        )
    state: PreviewState = "failed" if not result.ok else previews.changes(result.exit_code == 1)
    document = DocumentPreview(index=index, name=manifests.document_name(obj), state=state)
    return document, readable(result.text)


async def preview_documents(params: p.ApplyParams, env: ToolEnv) -> ToolOutput:
    """Preview of `k8s_apply`: a server-side diff of each document on its own; any document that
    fails makes the whole preview `failed` (the apply would then change nothing). A
    kustomization is rendered first, and the card says by what."""
    target = Target.of(env, "kubectl", params.context)
    argv = previews.diff_argv(params, target)
    limit = asyncio.Semaphore(PARALLEL_DIFFS)
    objects = manifests.parse_objects(await kustomize.manifest_of(params, env))
    found = await asyncio.gather(
        *(_diff_one(env, argv, index, obj, limit) for index, obj in enumerate(objects, start=1))
    )
    documents = [document for document, _ in found]
    states = {document.state for document in documents}
    state: PreviewState = (
        "failed" if "failed" in states else "changes" if "changes" in states else "no_change"
    )
    parts = []
    if params.manifest is None:
        shown = kustomize.shown_render(params, target)
        parts.append(f"rendered by {shown}: {len(objects)} objects")
    for document, text in found:
        parts.append(f"== document {document.index}: {document.name} ({document.state})")
        if text:
            parts.append(text)
    if state == "failed":
        parts.append("a document failed its dry run: applying this manifest would apply nothing")
    report = PreviewReport(state=state, documents=documents)
    text, cut = capped("\n".join(parts), env.output_cap_bytes, "preview")
    return ToolOutput(ok=state != "failed", text=text, truncated=cut, data=report)


@dataclass(frozen=True)
class AllOrNothing(Argv):
    """`Argv` of an apply that runs only if a server-side dry run of the whole manifest
    succeeds; otherwise nothing is applied and the failing documents are named."""

    async def run(self, params: Any, env: ToolEnv) -> ToolOutput:
        manifest = await kustomize.manifest_of(params, env)
        dry = await run_argv(
            env,
            previews.dry_run_argv(self.argv(params, env)),
            stdin=manifest,
            timeout_s=env.command_timeout_s,
        )
        if dry.ok:
            return await run_argv(
                env,
                self.argv(params, env),
                stdin=manifest,
                timeout_s=deadline(env, self.timeout(params)),
                ok_exit_codes=self.ok_exit_codes,
            )
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

    async def command(self, params: Any, env: ToolEnv) -> str:
        """`kubectl apply --filename - < manifest`, or the render piped into it."""
        if params.manifest is not None:
            return await super().command(params, env)
        render = kustomize.shown_render(params, self.target(params, env))
        return f"{render} | {display(self.argv(params, env))}"
