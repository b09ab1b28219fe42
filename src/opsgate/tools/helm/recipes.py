"""Manifest diffs (the `helm_diff` read and the mutations' previews) and verify checks.

`upgrade_diff` compares `helm get manifest` (the release as it is) with the manifest of
`helm upgrade --install --dry-run=server` (what an upgrade or install would apply), as a unified
diff; nothing changes on the cluster. Rollback and uninstall previews diff against the target
revision and against nothing. Verify recipes read `helm status` back. Secret data is redacted
on both sides before diffing.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from opsgate.errors import ToolFailed, truncate
from opsgate.tools import command, redact
from opsgate.tools.base import CommandResult, ToolEnv, ToolOutput
from opsgate.tools.command import Target, display, output_from
from opsgate.tools.helm import argv as a
from opsgate.tools.helm import params as p


def _target(env: ToolEnv, context: str | None = None) -> Target:
    return Target.of(env, "helm", context)


async def run_result(
    env: ToolEnv, argv: list[str], *, timeout_s: float | None = None
) -> CommandResult:
    """Run one helm argv with helm's environment; the raw (redacted) result."""
    return await command.run_result(env, argv, binary="helm", timeout_s=timeout_s)


def _not_found(stderr: str) -> bool:
    return "not found" in stderr.lower()


async def _manifest(env: ToolEnv, argv: list[str], *, missing_ok: bool) -> str | ToolOutput:
    """A release manifest, "" for a missing release when allowed, else the failing output."""
    result = await run_result(env, argv)
    if result.exit_code == 0:
        return redact.redact_text(result.stdout)
    if missing_ok and _not_found(result.stderr):
        return ""
    return output_from(result)


def _diff_output(
    before: str, after: str, before_label: str, after_label: str, command: str
) -> ToolOutput:
    lines = list(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=before_label,
            tofile=after_label,
        )
    )
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    text = "".join(lines) if lines else "No changes: the manifests are identical."
    return ToolOutput(
        ok=True,
        text=text,
        exit_code=0,
        command=command,
        data={"changed": bool(lines), "added_lines": added, "removed_lines": removed},
    )


def _dry_run_manifest(stdout: str) -> str:
    try:
        release: Any = json.loads(stdout)
    except ValueError as e:
        raise ToolFailed(
            f"helm dry-run output is not JSON (output cap reached?): {truncate(stdout, 200)!r}"
        ) from e
    manifest = release.get("manifest", "") if isinstance(release, dict) else ""
    return redact.redact_text(manifest if isinstance(manifest, str) else "")


async def upgrade_diff(params: p.ValuesParams, env: ToolEnv) -> ToolOutput:
    """The manifest change an upgrade (or install) with these inputs would make."""
    target = _target(env, params.context)
    with command.private_file(params.values_yaml) as path:
        dry_argv = a.upgrade_dry_run(params, target, path)
        dry = await run_result(
            env, dry_argv, timeout_s=command.deadline(env, command.own_timeout(params))
        )
        if dry.exit_code != 0 or dry.timed_out:
            return output_from(dry)
    after = _dry_run_manifest(dry.stdout)
    current = await _manifest(
        env, a.current_manifest(params.release, params.namespace, target), missing_ok=True
    )
    if isinstance(current, ToolOutput):
        return current
    label = f"release {params.release!r} now" if current else "(no release yet)"
    return _diff_output(current, after, label, "after upgrade", display(dry_argv))


async def rollback_diff(params: p.RollbackParams, env: ToolEnv) -> ToolOutput:
    """What a rollback would change: the current manifest against the target revision's."""
    target = _target(env, params.context)
    revision = params.revision
    if revision is None:
        status = await release_status(params, env)
        if status is None:
            return ToolOutput(ok=False, text=f"release {params.release!r} does not exist")
        current_revision = int(status.get("version", 0))
        if current_revision <= 1:
            return ToolOutput(ok=False, text=f"{params.release!r} has no previous revision")
        revision = current_revision - 1
    current = await _manifest(
        env, a.current_manifest(params.release, params.namespace, target), missing_ok=False
    )
    if isinstance(current, ToolOutput):
        return current
    wanted_argv = a.revision_manifest(params.release, params.namespace, revision, target)
    wanted = await _manifest(env, wanted_argv, missing_ok=False)
    if isinstance(wanted, ToolOutput):
        return wanted
    return _diff_output(current, wanted, "current", f"revision {revision}", display(wanted_argv))


async def uninstall_diff(params: p.UninstallParams, env: ToolEnv) -> ToolOutput:
    """What an uninstall would remove: every object of the current manifest."""
    argv = a.current_manifest(params.release, params.namespace, _target(env, params.context))
    current = await _manifest(env, argv, missing_ok=False)
    if isinstance(current, ToolOutput):
        return current
    return _diff_output(current, "", "current", "after uninstall", display(argv))


async def release_status(params: p.ReleaseParams, env: ToolEnv) -> dict[str, Any] | None:
    """`helm status` as JSON; None when the release does not exist."""
    target = _target(env, params.context)
    argv = a.helm_status(
        p.StatusParams(
            release=params.release,
            namespace=params.namespace,
            context=params.context,
            output="json",
        ),
        target,
    )
    result = await run_result(env, argv)
    if result.exit_code != 0:
        if _not_found(result.stderr):
            return None
        raise ToolFailed(f"helm status {params.release!r} failed: {truncate(result.stderr, 300)}")
    try:
        status: dict[str, Any] = json.loads(result.stdout)
    except ValueError as e:
        raise ToolFailed(f"unexpected helm status output for {params.release!r}") from e
    return status


async def verify_deployed(params: p.ReleaseParams, env: ToolEnv) -> ToolOutput:
    """Verify of install/upgrade/rollback: the release's current revision is `deployed`."""
    status = await release_status(params, env)
    if status is None:
        return ToolOutput(ok=False, text=f"release {params.release!r} does not exist")
    state = status.get("info", {}).get("status")
    revision = status.get("version")
    ok = state == "deployed"
    return ToolOutput(
        ok=ok,
        text=f"release {params.release!r} revision {revision} is {state}",
        data={"status": state, "revision": revision},
    )


async def verify_uninstalled(params: p.UninstallParams, env: ToolEnv) -> ToolOutput:
    """Verify of uninstall: the release is gone (or marked uninstalled with kept history)."""
    status = await release_status(params, env)
    state = None if status is None else status.get("info", {}).get("status")
    ok = state is None or state == "uninstalled"
    return ToolOutput(
        ok=ok,
        text=f"release {params.release!r} is {'gone' if state is None else state}",
        data={"status": state},
    )


async def _repositories(env: ToolEnv) -> dict[str, str] | ToolOutput:
    argv = a.repo_list(_target(env))
    result = await run_result(env, argv)
    if result.exit_code != 0:
        # helm exits 1 with "no repositories to show" when none are configured.
        return {} if "no repositories" in result.stderr else output_from(result)
    try:
        entries = json.loads(result.stdout)
        return {entry["name"]: entry["url"] for entry in entries}
    except (ValueError, KeyError, TypeError) as e:
        raise ToolFailed("unexpected helm repo list output") from e


async def verify_repo_added(params: p.RepoAddParams, env: ToolEnv) -> ToolOutput:
    repositories = await _repositories(env)
    if isinstance(repositories, ToolOutput):
        return repositories
    ok = repositories.get(params.name) == params.url
    return ToolOutput(ok=ok, text=f"repository {params.name!r} {'is' if ok else 'is not'} added")


async def verify_repo_removed(params: p.RepoRemoveParams, env: ToolEnv) -> ToolOutput:
    repositories = await _repositories(env)
    if isinstance(repositories, ToolOutput):
        return repositories
    ok = params.name not in repositories
    return ToolOutput(ok=ok, text=f"repository {params.name!r} {'is gone' if ok else 'remains'}")
