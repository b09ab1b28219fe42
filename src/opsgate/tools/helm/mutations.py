"""The helm mutations: install, upgrade, rollback, uninstall, and chart repositories.

Collected into `opsgate.tools.helm.TOOLS`. Every one waits for approval; release changes carry a
preview (a manifest diff from a server-side dry run or from the release's own revisions) and a
verify (`helm status` read back). Uninstall and rollback are marked destructive.
"""

from __future__ import annotations

from opsgate.domain.calls import ToolAnnotations
from opsgate.tools.base import Tool
from opsgate.tools.helm import argv as a
from opsgate.tools.helm import params as p
from opsgate.tools.helm import recipes
from opsgate.tools.helm.running import helm_tool, simple_run, values_run

TOOLS: list[Tool] = [
    helm_tool(
        "helm_repo_add",
        "Add a chart repository (https URL) to opsgate's helm configuration.",
        p.RepoAddParams,
        ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=True),
        simple_run(a.helm_repo_add),
        verify=recipes.verify_repo_added,
    ),
    helm_tool(
        "helm_repo_update",
        "Refresh the chart indexes of the added repositories (all, or the named ones).",
        p.RepoUpdateParams,
        ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=True),
        simple_run(a.helm_repo_update),
    ),
    helm_tool(
        "helm_repo_remove",
        "Remove a chart repository from opsgate's helm configuration.",
        p.RepoRemoveParams,
        ToolAnnotations(read_only=False, destructive=False, idempotent=False, open_world=False),
        simple_run(a.helm_repo_remove),
        verify=recipes.verify_repo_removed,
    ),
    helm_tool(
        "helm_install",
        "Install a chart as a new release, with values YAML and/or `set` pairs, optionally "
        "creating the namespace and waiting (bounded) for its resources to be ready.",
        p.InstallParams,
        ToolAnnotations(read_only=False, destructive=False, idempotent=False, open_world=True),
        values_run(a.helm_install),
        preview=recipes.upgrade_diff,
        verify=recipes.verify_deployed,
    ),
    helm_tool(
        "helm_upgrade",
        "Upgrade a release to a chart version and/or new values (optionally installing it if "
        "missing), waiting (bounded) for its resources when asked.",
        p.UpgradeParams,
        ToolAnnotations(read_only=False, destructive=False, idempotent=False, open_world=True),
        values_run(a.helm_upgrade),
        preview=recipes.upgrade_diff,
        verify=recipes.verify_deployed,
    ),
    helm_tool(
        "helm_uninstall",
        "Uninstall a release, deleting every Kubernetes object it created.",
        p.UninstallParams,
        ToolAnnotations(read_only=False, destructive=True, idempotent=False, open_world=False),
        simple_run(a.helm_uninstall),
        preview=recipes.uninstall_diff,
        verify=recipes.verify_uninstalled,
    ),
    helm_tool(
        "helm_rollback",
        "Roll a release back to an earlier revision (the previous one by default).",
        p.RollbackParams,
        ToolAnnotations(read_only=False, destructive=True, idempotent=False, open_world=False),
        simple_run(a.helm_rollback),
        preview=recipes.rollback_diff,
        verify=recipes.verify_deployed,
    ),
]
