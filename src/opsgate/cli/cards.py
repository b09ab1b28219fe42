"""How the terminal names a tool call and draws it for a decision.

A call is named by its tool and the object it acts on (`k8s_scale deployment/frontend (shop)`),
never by its id alone; the approval card shows everything an approver decides on: the object,
namespace, context and cluster, the exact command, who proposed it and when it expires, every
argument in full (wrapped, multi-line values as blocks), and what the dry run found. Used by
`cli.render` (the stream), `cli.decide` (the prompt) and `cli.approvals` (`approvals list`).
Every value here is untrusted and reaches the console through `common.untrusted`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax
from rich.text import Text

from opsgate.cli import words
from opsgate.cli.common import untrusted, visible
from opsgate.domain.events import PreviewOutcome

PREVIEW_LINES = 40
"""Lines of a dry-run diff shown on the card; `d` at the prompt shows all of it."""


class CallView(Protocol):
    """A change awaiting a decision, as the stream (`ApprovalCall`) and the approvals API
    (`ApprovalItemOut`) both describe it."""

    @property
    def call_id(self) -> str: ...
    @property
    def tool(self) -> str: ...
    @property
    def args(self) -> dict[str, Any]: ...
    @property
    def context(self) -> str | None: ...
    @property
    def namespace(self) -> str | None: ...
    @property
    def destructive(self) -> bool: ...
    @property
    def preview(self) -> str | None: ...
    @property
    def preview_state(self) -> PreviewOutcome: ...
    @property
    def command(self) -> str | None: ...
    @property
    def cluster(self) -> str | None: ...


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _manifest_objects(manifest: str) -> str:
    # Imported here: the kubectl tool package costs half a second of every CLI start.
    from opsgate.tools.kubectl import manifests

    try:
        objects = manifests.parse_objects(manifest)
    except ValueError:
        return "a manifest that does not parse"
    names = [f"{obj['kind'].lower()}/{obj['metadata']['name']}" for obj in objects]
    return (
        ", ".join(names) if len(names) <= 3 else f"{', '.join(names[:3])} and {len(names) - 3} more"
    )


def target_of(tool: str, args: Mapping[str, Any]) -> str:
    """The object a call acts on, as kubectl, helm or Jenkins would name it."""
    resource, name = _text(args.get("resource")), _text(args.get("name"))
    if resource is not None:
        if name is not None and "/" not in resource:
            return f"{resource}/{name}"
        selector = _text(args.get("selector"))
        return f"{resource} -l {selector}" if selector and "/" not in resource else resource
    for key in ("release", "job", "node", "pod"):
        value = _text(args.get(key))
        if value is not None:
            build = args.get("build") if key == "job" else None
            return f"{key}/{value}" + (f" #{build}" if build is not None else "")
    cronjob = _text(args.get("cronjob"))
    if cronjob is not None:
        return f"job/{name} from cronjob/{cronjob}" if name else f"cronjob/{cronjob}"
    if name is not None:
        return f"rollout/{name}" if tool.startswith("argo_") else name
    manifest = _text(args.get("manifest"))
    if manifest is not None:
        return _manifest_objects(manifest)
    directory = _text(args.get("kustomize_dir"))
    if directory is not None:
        return f"the kustomization in {directory}"
    files = args.get("kustomization")
    if isinstance(files, Mapping) and files:
        return f"a kustomization of {len(files)} file{'s' if len(files) != 1 else ''}"
    chart = _text(args.get("chart"))
    if chart is not None:
        return f"chart {chart}"
    return "(no object named)"


def namespace_of(args: Mapping[str, Any]) -> str | None:
    return _text(args.get("namespace"))


def label(tool: str, args: Mapping[str, Any]) -> str:
    """`k8s_scale deployment/frontend (shop)`: how a decision or a result names its call."""
    namespace = namespace_of(args)
    return f"{tool} {target_of(tool, args)}" + (f" ({namespace})" if namespace else "")


def label_in(tool: str, args: Mapping[str, Any]) -> str:
    """`k8s_scale deployment/frontend in shop`: how a question names its call."""
    namespace = namespace_of(args)
    return f"{tool} {target_of(tool, args)}" + (f" in {namespace}" if namespace else "")


def confirm_word(tool: str, args: Mapping[str, Any]) -> str:
    """What an approver types to approve a destructive call: the object's own name."""
    target = target_of(tool, args)
    head, _, tail = target.partition(" ")
    name = head.rpartition("/")[2] if "/" in head and not tail else ""
    return name or target


def args_text(args: Mapping[str, Any], indent: str = "  ") -> Text:
    """Every argument on its own line; multi-line values (manifests, patches) as indented
    blocks exactly as they will be sent, so a YAML comment or a long line hides nothing."""
    if not args:
        return Text(f"{indent}(none)")
    lines: list[str] = []
    for key, value in args.items():
        shown_key = key if key.isidentifier() else json.dumps(key, ensure_ascii=False)
        if isinstance(value, str) and "\n" in value:
            lines.append(f"{indent}{shown_key}: |")
            block = value.replace("\r\n", "\n").split("\n")
            lines.extend(f"{indent}    {line}" for line in block)
        else:
            lines.append(f"{indent}{shown_key}: {json.dumps(value, ensure_ascii=False)}")
    return untrusted("\n".join(lines), block=True)


def args_line(args: Mapping[str, Any]) -> Text:
    """The arguments as one JSON line (wrapped by the console, never cut)."""
    return untrusted(json.dumps(dict(args), ensure_ascii=False))


def expiry(expires_at: datetime, now: datetime | None = None) -> str:
    left = (expires_at - (now or datetime.now(UTC))).total_seconds()
    stamp = expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if left <= 0:
        return f"{stamp} (past)"
    return f"{stamp} (in {int(left // 60)} min {int(left % 60)} s)"


def preview_view(call: CallView, *, full: bool) -> RenderableType:
    """What the dry run found: its banner, then its output (folded unless `full`)."""
    banner = words.PREVIEW[call.preview_state].text()
    text = visible(call.preview or "", block=True).rstrip("\n")
    if not text:
        return banner
    lines = text.split("\n")
    more = len(lines) - PREVIEW_LINES if not full and len(lines) > PREVIEW_LINES else 0
    shown = "\n".join(lines[: len(lines) - more])
    body: RenderableType = (
        Syntax(shown, "diff", word_wrap=True, background_color="default")
        if call.preview_state == "changes"
        else Text(shown)
    )
    parts: list[RenderableType] = [banner, body]
    if more:
        parts.append(Text(f"… {more} more lines of the dry run: type d to see all of it", "dim"))
    return Group(*parts)


def _row(name: str, value: Text | str) -> Text:
    shown = value if isinstance(value, Text) else untrusted(value)
    return Text.assemble((f"{name:<10} ", "bold"), shown)


def card(
    call: CallView,
    *,
    proposer: str,
    expires_at: datetime,
    position: tuple[int, int],
    you_proposed: bool = False,
    distinct_approver: bool | None = None,
) -> Panel:
    """The approval card of one change; `position` is (this one, of how many)."""
    kind: words.Classification = "destructive change" if call.destructive else "change"
    look = words.KIND[kind]
    proposed = untrusted(proposer)
    if you_proposed:
        proposed.append(" · you proposed this change", style="bold yellow")
        if distinct_approver:
            proposed.append(
                " (this server requires another approver to decide it)", style="bold yellow"
            )
    cluster = untrusted(call.context or "(the default context)")
    if call.cluster:
        cluster.append(" · cluster ")
        cluster.append_text(untrusted(call.cluster))
    command = (
        untrusted(call.command)
        if call.command
        else Text("not given by the server; the arguments below are what will run", "dim")
    )
    rows: list[RenderableType] = [
        untrusted(label(call.tool, call.args), "bold"),
        _row("namespace", call.namespace or "(none given)"),
        _row("context", cluster),
        _row("command", command),
        _row("proposed", proposed),
        _row("expires", expiry(expires_at)),
        Text("arguments", "bold"),
        args_text(call.args),
        preview_view(call, full=False),
    ]
    if call.destructive:
        rows.insert(1, Text("DESTRUCTIVE: approving needs its name typed and a reason", "bold red"))
    title = Text(f"{look.word} {position[0]} of {position[1]}", style=look.style)
    border = "red" if call.destructive or call.preview_state == "failed" else "yellow"
    return Panel(Group(*rows), title=title, title_align="left", border_style=border)
