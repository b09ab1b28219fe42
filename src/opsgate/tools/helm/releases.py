"""Reading what helm knows: a release's status and manifest, and the chart repositories.

Used by the preview recipes (`previews.py`) and the verify recipes (`verifies.py`). Everything
here is a read: `helm history`, `helm get manifest`, `helm repo list`, run with helm's own
environment through the injected runner (output capped and redacted).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from opsgate.errors import ToolFailed, truncate
from opsgate.tools import command, redact
from opsgate.tools.base import CommandResult, ToolEnv, ToolOutput
from opsgate.tools.command import Target, output_from
from opsgate.tools.helm import argv as a
from opsgate.tools.helm import params as p


def target(env: ToolEnv, context: str | None = None) -> Target:
    return Target.of(env, "helm", context)


async def run_result(
    env: ToolEnv, argv: list[str], *, timeout_s: float | None = None, whole: bool = False
) -> CommandResult:
    """Run one helm argv with helm's environment; the raw (redacted) result.

    With `whole`, stdout is kept up to `command.WHOLE_OUTPUT_BYTES` (a manifest to diff or
    read workloads from), and a larger one fails rather than being cut.

    Raises:
        ToolFailed: `whole` output was larger than that.
    """
    cap = command.WHOLE_OUTPUT_BYTES if whole else None
    result = await command.run_result(
        env, argv, binary="helm", timeout_s=timeout_s, stdout_cap_bytes=cap
    )
    if whole and result.stdout_truncated:
        raise ToolFailed(
            f"helm printed {result.stdout_size} bytes, more than the "
            f"{command.WHOLE_OUTPUT_BYTES} opsgate reads: {truncate(command.display(argv), 300)}"
        )
    return result


def not_found(stderr: str) -> bool:
    return "not found" in stderr.lower()


async def manifest(env: ToolEnv, argv: list[str], *, missing_ok: bool) -> str | ToolOutput:
    """A release manifest (read whole), "" for a missing release when allowed, else the
    failing output."""
    result = await run_result(env, argv, whole=True)
    if result.exit_code == 0:
        return redact.redact_text(result.stdout)
    if missing_ok and not_found(result.stderr):
        return ""
    return output_from(result)


@dataclass(frozen=True)
class Revision:
    """A release's latest revision, as `helm history` reports it."""

    number: int
    status: str
    """`deployed`, `failed`, `pending-upgrade`, `uninstalled`..."""
    description: str


async def latest_revision(params: p.ReleaseParams, env: ToolEnv) -> Revision | None:
    """The release's latest revision; None when the release does not exist.

    Read from `helm history --max 1` rather than `helm status`, whose JSON carries every
    resource of the release (pods included) for no use here.

    Raises:
        ToolFailed: helm could not say.
    """
    history = p.HistoryParams(
        release=params.release, namespace=params.namespace, context=params.context, max=1
    )
    argv = a.helm_history(
        history.model_copy(update={"output": "json"}), target(env, params.context)
    )
    result = await run_result(env, argv)
    if result.exit_code != 0:
        if not_found(result.stderr):
            return None
        raise ToolFailed(f"helm history {params.release!r} failed: {truncate(result.stderr, 300)}")
    try:
        (entry,) = json.loads(result.stdout)
        return Revision(int(entry["revision"]), str(entry["status"]), str(entry["description"]))
    except (ValueError, KeyError, TypeError) as e:
        raise ToolFailed(f"unexpected helm history output for {params.release!r}") from e


async def repositories(env: ToolEnv) -> dict[str, str] | ToolOutput:
    """The added chart repositories, name to URL, else the failing output."""
    result = await run_result(env, a.repo_list(target(env)))
    if result.exit_code != 0:
        # helm exits 1 with "no repositories to show" when none are configured.
        return {} if "no repositories" in result.stderr else output_from(result)
    try:
        entries = json.loads(result.stdout)
        return {entry["name"]: entry["url"] for entry in entries}
    except (ValueError, KeyError, TypeError) as e:
        raise ToolFailed("unexpected helm repo list output") from e
