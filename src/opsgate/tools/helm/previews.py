"""Preview recipes of the helm mutations, and the manifest diff the `helm_diff` read shows.

`upgrade_diff` compares `helm get manifest` (the release as it is) with the manifest of
`helm upgrade --install --dry-run=server` (what an upgrade or install would apply), as a unified
diff; nothing changes on the cluster. Both are read whole (a chart's dry run is often larger
than the output cap: its JSON carries the chart's templates and files); only the diff is cut to
the cap, and says so. Rollback and uninstall previews diff against the target
revision and against nothing; repository previews read `helm repo list`. Secret data is redacted
on both sides before diffing. Each says how it turned out: `changes`, `no_change` (identical
manifests, a repository already there) or `failed` (the dry run or a read errored).
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from opsgate.errors import ToolFailed, truncate
from opsgate.tools import command, redact
from opsgate.tools.base import ToolEnv, ToolOutput
from opsgate.tools.command import display, output_from
from opsgate.tools.define import previewed
from opsgate.tools.helm import argv as a
from opsgate.tools.helm import params as p
from opsgate.tools.helm import releases


def _diff_output(
    env: ToolEnv, before: str, after: str, before_label: str, after_label: str, shown: str
) -> ToolOutput:
    lines = list(
        difflib.unified_diff(
            _lines(before),
            _lines(after),
            fromfile=before_label,
            tofile=after_label,
        )
    )
    whole = "".join(lines) if lines else "No changes: the manifests are identical."
    text, cut = command.capped(whole, env.output_cap_bytes, "diff")
    output = ToolOutput(ok=True, text=text, exit_code=0, truncated=cut, command=shown)
    return previewed(output, "changes" if lines else "no_change")


def _lines(manifest: str) -> list[str]:
    """A manifest's lines; `helm get manifest` ends with a blank line the dry run's lacks."""
    return [f"{line}\n" for line in manifest.rstrip("\n").splitlines()]


def _failed(text: str) -> ToolOutput:
    return previewed(ToolOutput(ok=False, text=text), "failed")


def _dry_run_manifest(stdout: str) -> str:
    try:
        release: Any = json.loads(stdout)
    except ValueError as e:
        raise ToolFailed(f"helm dry-run output is not JSON: {truncate(stdout, 200)!r}") from e
    manifest = release.get("manifest", "") if isinstance(release, dict) else ""
    return redact.redact_text(manifest if isinstance(manifest, str) else "")


async def upgrade_diff(params: p.ValuesParams, env: ToolEnv) -> ToolOutput:
    """The manifest change an upgrade (or install) with these inputs would make."""
    target = releases.target(env, params.context)
    with command.private_file(params.values_yaml) as path:
        dry_argv = a.upgrade_dry_run(params, target, path)
        timeout_s = command.deadline(env, command.own_timeout(params))
        dry = await releases.run_result(env, dry_argv, timeout_s=timeout_s, whole=True)
        if dry.exit_code != 0 or dry.timed_out:
            return previewed(output_from(dry), "failed")
    after = _dry_run_manifest(dry.stdout)
    current = await releases.manifest(
        env, a.current_manifest(params.release, params.namespace, target), missing_ok=True
    )
    if isinstance(current, ToolOutput):
        return previewed(current, "failed")
    label = f"release {params.release!r} now" if current else "(no release yet)"
    return _diff_output(env, current, after, label, "after upgrade", display(dry_argv))


async def rollback_diff(params: p.RollbackParams, env: ToolEnv) -> ToolOutput:
    """What a rollback would change: the current manifest against the target revision's."""
    target = releases.target(env, params.context)
    revision = params.revision
    if revision is None:
        latest = await releases.latest_revision(params, env)
        if latest is None:
            return _failed(f"release {params.release!r} does not exist")
        current_revision = latest.number
        if current_revision <= 1:
            return _failed(f"{params.release!r} has no previous revision")
        revision = current_revision - 1
    current = await releases.manifest(
        env, a.current_manifest(params.release, params.namespace, target), missing_ok=False
    )
    if isinstance(current, ToolOutput):
        return previewed(current, "failed")
    wanted_argv = a.revision_manifest(params.release, params.namespace, revision, target)
    wanted = await releases.manifest(env, wanted_argv, missing_ok=False)
    if isinstance(wanted, ToolOutput):
        return previewed(wanted, "failed")
    return _diff_output(
        env, current, wanted, "current", f"revision {revision}", display(wanted_argv)
    )


async def uninstall_diff(params: p.UninstallParams, env: ToolEnv) -> ToolOutput:
    """What an uninstall would remove: every object of the current manifest."""
    argv = a.current_manifest(
        params.release, params.namespace, releases.target(env, params.context)
    )
    current = await releases.manifest(env, argv, missing_ok=False)
    if isinstance(current, ToolOutput):
        return previewed(current, "failed")
    return _diff_output(env, current, "", "current", "after uninstall", display(argv))


async def repo_add_preview(params: p.RepoAddParams, env: ToolEnv) -> ToolOutput:
    """Whether the repository is new, already added with this URL, or added with another."""
    known = await releases.repositories(env)
    if isinstance(known, ToolOutput):
        return previewed(known, "failed")
    url = known.get(params.name)
    if url == params.url:
        return previewed(
            ToolOutput(ok=True, text=f"repository {params.name!r} is already added with {url}"),
            "no_change",
        )
    if url is not None and not params.force_update:
        return _failed(
            f"repository {params.name!r} already exists with {url}; helm would refuse to add it "
            "again without force_update"
        )
    change = f"replace {params.name!r} ({url})" if url is not None else f"add {params.name!r}"
    text = f"would {change} with {params.url}; its index is fetched only when the call runs"
    return previewed(ToolOutput(ok=True, text=text), "changes")


async def repo_update_preview(params: p.RepoUpdateParams, env: ToolEnv) -> ToolOutput:
    """Which repositories a refresh would fetch (all, or the named ones, which must exist)."""
    known = await releases.repositories(env)
    if isinstance(known, ToolOutput):
        return previewed(known, "failed")
    missing = [name for name in params.names if name not in known]
    if missing or not known:
        what = ", ".join(map(repr, missing)) if missing else "any repository"
        return _failed(f"helm has no {what} to update; add it with helm_repo_add first")
    names = params.names or sorted(known)
    text = "would fetch the chart index of " + ", ".join(f"{n!r} ({known[n]})" for n in names)
    return previewed(ToolOutput(ok=True, text=text), "changes")


async def repo_remove_preview(params: p.RepoRemoveParams, env: ToolEnv) -> ToolOutput:
    """Whether the repository to remove exists."""
    known = await releases.repositories(env)
    if isinstance(known, ToolOutput):
        return previewed(known, "failed")
    if params.name not in known:
        return _failed(f"helm has no repository named {params.name!r}")
    text = f"would remove repository {params.name!r} ({known[params.name]})"
    return previewed(ToolOutput(ok=True, text=text), "changes")
