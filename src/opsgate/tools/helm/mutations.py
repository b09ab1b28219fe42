"""The helm mutations: install, upgrade, rollback, uninstall, test, chart repositories and
chart dependencies.

Collected into `opsgate.tools.helm.TOOLS`. Every one waits for approval; release changes carry a
preview (a manifest diff from a server-side dry run or from the release's own revisions) and a
verify (`helm history` read back, and the rollout of the release's workloads). Uninstall and
rollback are marked destructive. `helm_test` creates the chart's test pods; `helm_dependency_build`
writes archives into a chart directory on the tool server (`dependencies.py`, `hooks.py`).
"""

from __future__ import annotations

from opsgate.domain.calls import ToolAnnotations
from opsgate.tools.base import Tool
from opsgate.tools.command import Argv
from opsgate.tools.define import define
from opsgate.tools.helm import argv as a
from opsgate.tools.helm import dependencies, hooks, previews, undo, verifies
from opsgate.tools.helm import params as p

_DEPLOYED = (
    "reads `helm history` (the release's current revision must be deployed), then waits (bounded) "
    "for the rollout of every Deployment, StatefulSet and DaemonSet in the release"
)

TOOLS: list[Tool] = [
    define(
        "helm",
        Argv(a.helm_repo_add, binary="helm"),
        p.RepoAddParams,
        ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=True),
        preview=previews.repo_add_preview,
        verify=verifies.verify_repo_added,
        verifies="reads `helm repo list`: the repository is there with this URL",
    ),
    define(
        "helm",
        Argv(a.helm_repo_update, binary="helm"),
        p.RepoUpdateParams,
        ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=True),
        preview=previews.repo_update_preview,
        verify=verifies.repo_update_not_checked,
        verifies="nothing beyond helm's exit code: the indexes are not checked (not verified)",
    ),
    define(
        "helm",
        Argv(a.helm_repo_remove, binary="helm"),
        p.RepoRemoveParams,
        ToolAnnotations(read_only=False, destructive=False, idempotent=False, open_world=False),
        preview=previews.repo_remove_preview,
        verify=verifies.verify_repo_removed,
        verifies="reads `helm repo list`: the repository is gone",
    ),
    define(
        "helm",
        Argv(a.helm_install, binary="helm", file="values_yaml"),
        p.InstallParams,
        ToolAnnotations(read_only=False, destructive=False, idempotent=False, open_world=True),
        preview=previews.upgrade_diff,
        verify=verifies.verify_installed,
        verifies=_DEPLOYED,
        undo=undo.undo_install,
    ),
    define(
        "helm",
        Argv(a.helm_upgrade, binary="helm", file="values_yaml"),
        p.UpgradeParams,
        ToolAnnotations(read_only=False, destructive=False, idempotent=False, open_world=True),
        preview=previews.upgrade_diff,
        verify=verifies.verify_upgraded,
        verifies=_DEPLOYED,
        undo=undo.undo_upgrade,
    ),
    define(
        "helm",
        Argv(a.helm_uninstall, binary="helm"),
        p.UninstallParams,
        ToolAnnotations(read_only=False, destructive=True, idempotent=False, open_world=False),
        preview=previews.uninstall_diff,
        verify=verifies.verify_uninstalled,
        verifies="reads `helm history`: the release is gone (or uninstalled, with kept history)",
    ),
    define(
        "helm",
        Argv(a.helm_rollback, binary="helm"),
        p.RollbackParams,
        ToolAnnotations(read_only=False, destructive=True, idempotent=False, open_world=False),
        preview=previews.rollback_diff,
        verify=verifies.verify_rolled_back,
        verifies=_DEPLOYED,
    ),
    define(
        "helm",
        Argv(a.helm_test, binary="helm"),
        p.ReleaseTestParams,
        # Creates pods (the chart's test hooks), which pull images: not a read.
        ToolAnnotations(read_only=False, destructive=False, idempotent=False, open_world=True),
        preview=hooks.preview_tests,
        verify=hooks.verify_tested,
        verifies="reads `helm status`: the latest run of every test hook must have succeeded",
    ),
    define(
        "helm",
        Argv(a.helm_dependency_build, binary="helm"),
        p.DependencyBuildParams,
        # Writes archives (and Chart.lock) into the chart directory that later installs and
        # templates read, fetched from repositories: a change, though not of the cluster.
        # Building again from the same lock writes the same files, and it deletes only
        # archives of versions the chart no longer asks for.
        ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=True),
        preview=dependencies.dependency_build_preview,
        verify=dependencies.verify_dependencies_built,
        verifies="reads `helm dependency list`: every dependency must be in the chart's charts/",
    ),
]
