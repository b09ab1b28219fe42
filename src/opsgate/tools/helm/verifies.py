"""Verify recipes of the helm mutations: `helm status` and `helm repo list` read back.

Attached to the mutating tools in `mutations.py`; the engine runs `verify` after the call ran.
"""

from __future__ import annotations

from opsgate.tools.base import ToolEnv, ToolOutput, Verification
from opsgate.tools.helm import params as p
from opsgate.tools.helm import releases


async def verify_deployed(params: p.ReleaseParams, env: ToolEnv) -> ToolOutput:
    """Verify of install/upgrade/rollback: the release's current revision is `deployed`."""
    status = await releases.release_status(params, env)
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
    status = await releases.release_status(params, env)
    state = None if status is None else status.get("info", {}).get("status")
    ok = state is None or state == "uninstalled"
    return ToolOutput(
        ok=ok,
        text=f"release {params.release!r} is {'gone' if state is None else state}",
        data={"status": state},
    )


async def verify_repo_added(params: p.RepoAddParams, env: ToolEnv) -> ToolOutput:
    known = await releases.repositories(env)
    if isinstance(known, ToolOutput):
        return known
    ok = known.get(params.name) == params.url
    return ToolOutput(ok=ok, text=f"repository {params.name!r} {'is' if ok else 'is not'} added")


async def verify_repo_removed(params: p.RepoRemoveParams, env: ToolEnv) -> ToolOutput:
    known = await releases.repositories(env)
    if isinstance(known, ToolOutput):
        return known
    ok = params.name not in known
    return ToolOutput(ok=ok, text=f"repository {params.name!r} {'is gone' if ok else 'remains'}")


async def repo_update_not_checked(params: p.RepoUpdateParams, env: ToolEnv) -> ToolOutput:
    """Verify of `helm_repo_update`: helm's exit code is all there is; indexes are not read."""
    summary = "not verified: the refreshed chart indexes are not checked beyond helm's exit code"
    return ToolOutput(
        ok=False, text=summary, data=Verification(verdict="not_verified", summary=summary)
    )
