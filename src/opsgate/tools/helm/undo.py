"""How a helm upgrade is undone: the release's revision and values before it, and the rollback.

Declared as `undo=` on `helm_upgrade` in `mutations.py`; run by the tool server's snapshot
recipe just before an approved upgrade. Helm keeps every revision of a release, so returning
to the one deployed before is `helm_rollback` to its number; an upgrade that installs a new
release (`install: true`) is undone by uninstalling it.
"""

from __future__ import annotations

from typing import Any

import yaml

from opsgate.errors import ToolFailed, truncate
from opsgate.tools.base import RollbackCall, Snapshot, ToolEnv
from opsgate.tools.helm import argv as a
from opsgate.tools.helm import params as p
from opsgate.tools.helm import releases


def _where(params: p.ReleaseParams) -> dict[str, Any]:
    args: dict[str, Any] = {"release": params.release}
    if params.namespace is not None:
        args["namespace"] = params.namespace
    if params.context is not None:
        args["context"] = params.context
    return args


async def _values(params: p.ReleaseParams, env: ToolEnv) -> Any:
    """The values the release's current revision was deployed with (redacted by the runner)."""
    request = p.GetValuesParams(
        release=params.release, namespace=params.namespace, context=params.context
    )
    argv = a.helm_get_values(request, releases.target(env, params.context))
    result = await releases.run_result(env, argv, whole=True)
    if result.exit_code != 0:
        raise ToolFailed(f"helm get values failed: {truncate(result.stderr, 300)}")
    try:
        return yaml.safe_load(result.stdout) or {}
    except yaml.YAMLError as e:
        raise ToolFailed("helm get values printed no YAML") from e


async def undo_upgrade(params: p.UpgradeParams, env: ToolEnv) -> Snapshot:
    """Undo of `helm_upgrade`: roll back to the revision deployed before it (or uninstall the
    release it installs)."""
    revision = await releases.latest_revision(params, env)
    if revision is None:
        if not params.install:
            return Snapshot(cannot_undo=f"release {params.release!r} does not exist yet")
        return Snapshot(
            objects=[{"release": params.release, "revision": None}],
            undo=RollbackCall(tool="helm_uninstall", args=_where(params)),
        )
    state = {
        "release": params.release,
        "revision": revision.number,
        "status": revision.status,
        "values": await _values(params, env),
    }
    return Snapshot(
        objects=[state],
        undo=RollbackCall(
            tool="helm_rollback", args={**_where(params), "revision": revision.number}
        ),
    )


async def undo_install(params: p.InstallParams, env: ToolEnv) -> Snapshot:
    """Undo of `helm_install`: uninstall the release it creates."""
    if await releases.latest_revision(params, env) is not None:
        return Snapshot(cannot_undo=f"release {params.release!r} exists already")
    return Snapshot(
        objects=[{"release": params.release, "revision": None}],
        undo=RollbackCall(tool="helm_uninstall", args=_where(params)),
    )
