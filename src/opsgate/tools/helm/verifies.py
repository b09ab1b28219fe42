"""Verify recipes of the helm mutations: `helm history` and `helm repo list` read back, and the
rollout of the release's workloads.

Attached to the mutating tools in `mutations.py`; the engine runs `verify` after the call ran.
An install, upgrade or rollback is verified only when its revision is `deployed` and every
Deployment, StatefulSet and DaemonSet of its manifest has rolled out (`tools.rollout`); a
failed upgrade offers `helm_rollback` to the revision before it. Each returns
`define.concluded(Verification)`.
"""

from __future__ import annotations

from typing import Any

from opsgate.tools import rollout
from opsgate.tools.base import RollbackCall, ToolEnv, ToolOutput, Verification
from opsgate.tools.command import Target
from opsgate.tools.define import concluded
from opsgate.tools.helm import argv as a
from opsgate.tools.helm import params as p
from opsgate.tools.helm import releases


def _rollback(params: p.ReleaseParams, revision: int) -> RollbackCall:
    args: dict[str, Any] = {"release": params.release, "revision": revision}
    if params.namespace is not None:
        args["namespace"] = params.namespace
    if params.context is not None:
        args["context"] = params.context
    return RollbackCall(tool="helm_rollback", args=args)


async def _deployed(params: p.ReleaseParams, env: ToolEnv, *, can_roll_back: bool) -> ToolOutput:
    """The release's current revision is deployed and its workloads have rolled out; with
    `can_roll_back`, a failure offers `helm_rollback` to the revision before this one."""
    latest = await releases.latest_revision(params, env)
    if latest is None:
        summary = f"release {params.release!r} does not exist"
        return concluded(Verification(verdict="failed", summary=summary))
    revision = latest.number
    rollback = _rollback(params, revision - 1) if can_roll_back and revision > 1 else None
    if latest.status != "deployed":
        summary = f"release {params.release!r} revision {revision} is {latest.status}"
        details = [latest.description] if latest.description else []
        return concluded(
            Verification(verdict="failed", summary=summary, details=details, rollback=rollback)
        )
    argv = a.current_manifest(
        params.release, params.namespace, releases.target(env, params.context)
    )
    manifest = await releases.manifest(env, argv, missing_ok=False)
    if isinstance(manifest, ToolOutput):
        summary = f"the manifest of release {params.release!r} could not be read"
        return concluded(Verification(verdict="failed", summary=summary, details=[manifest.text]))
    workloads = rollout.workloads_in(manifest, params.namespace)
    kubectl = Target.of(env, "kubectl", params.context)
    outcome = await rollout.wait(env, kubectl, workloads, env.verify_timeout_s)
    found = outcome.verification
    prefix = f"release {params.release!r} revision {revision} is deployed"
    if found.verdict == "verified":
        summary = f"{prefix}; {found.summary}" if workloads else f"{prefix} (no workloads in it)"
        return concluded(found.model_copy(update={"summary": summary}))
    next_step = (
        f"fix the cause above, or helm_rollback {params.release!r} to revision {revision - 1}"
        if rollback is not None
        else found.next_step
    )
    return concluded(
        found.model_copy(
            update={
                "details": [prefix, *found.details],
                "rollback": rollback,
                "next_step": next_step,
            }
        )
    )


async def verify_installed(params: p.InstallParams, env: ToolEnv) -> ToolOutput:
    """Verify of `helm_install`: deployed and rolled out (a new release has nothing to roll
    back to; `helm_uninstall` removes it)."""
    return await _deployed(params, env, can_roll_back=False)


async def verify_upgraded(params: p.UpgradeParams, env: ToolEnv) -> ToolOutput:
    """Verify of `helm_upgrade`: deployed and rolled out; a failure offers the rollback."""
    return await _deployed(params, env, can_roll_back=True)


async def verify_rolled_back(params: p.RollbackParams, env: ToolEnv) -> ToolOutput:
    """Verify of `helm_rollback`: deployed and rolled out (rolling back the rollback is no
    remedy, so none is offered)."""
    return await _deployed(params, env, can_roll_back=False)


async def verify_uninstalled(params: p.UninstallParams, env: ToolEnv) -> ToolOutput:
    """Verify of uninstall: the release is gone (or marked uninstalled with kept history)."""
    latest = await releases.latest_revision(params, env)
    state = None if latest is None else latest.status
    verdict = "verified" if state in (None, "uninstalled") else "failed"
    summary = f"release {params.release!r} is {'gone' if state is None else state}"
    return concluded(Verification(verdict=verdict, summary=summary))


async def verify_repo_added(params: p.RepoAddParams, env: ToolEnv) -> ToolOutput:
    """Verify of `helm_repo_add`: the repository is listed with this URL."""
    known = await releases.repositories(env)
    if isinstance(known, ToolOutput):
        return known
    url = known.get(params.name)
    verdict = "verified" if url == params.url else "failed"
    listed = f"is listed with {url}" if url else "is not listed"
    summary = f"repository {params.name!r} {listed}"
    return concluded(Verification(verdict=verdict, summary=summary))


async def verify_repo_removed(params: p.RepoRemoveParams, env: ToolEnv) -> ToolOutput:
    """Verify of `helm_repo_remove`: the repository is no longer listed."""
    known = await releases.repositories(env)
    if isinstance(known, ToolOutput):
        return known
    gone = params.name not in known
    summary = f"repository {params.name!r} {'is gone' if gone else 'is still listed'}"
    return concluded(Verification(verdict="verified" if gone else "failed", summary=summary))


async def repo_update_not_checked(params: p.RepoUpdateParams, env: ToolEnv) -> ToolOutput:
    """Verify of `helm_repo_update`: helm's exit code is all there is; indexes are not read."""
    summary = "not verified: the refreshed chart indexes are not checked beyond helm's exit code"
    return concluded(Verification(verdict="not_verified", summary=summary))
